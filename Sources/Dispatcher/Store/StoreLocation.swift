import Logging

/// Where the jobs live, from `--db` or `DISPATCHER_DB`: a file path is an SQLite database, a
/// `postgres://` or `postgresql://` URL a PostgreSQL one. The one place that names the concrete
/// stores; everything else sees `OperatorStore` and `DaemonStore`.
enum StoreLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresURL)

    init(parsing text: String) throws {
        if let scheme = text.firstRange(of: "://").map({ text[..<$0.lowerBound].lowercased() }) {
            switch scheme {
            case "postgres", "postgresql":
                self = .postgres(try PostgresURL(parsing: text))
                return
            default:
                throw DispatcherError(
                    "unsupported database URL scheme '\(scheme)'; use a file path (SQLite) or postgres://")
            }
        }
        guard !text.isEmpty else { throw DispatcherError("--db must not be empty") }
        self = .sqlite(path: text)
    }

    /// A description for logs and `top`, without any password.
    var displayName: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let url): url.redacted
        }
    }

    /// Opens (creating and migrating when needed) the store for one operator command, runs
    /// `body` with it, and closes it.
    func withOperatorStore<T: Sendable>(_ body: (any OperatorStore) async throws -> T) async throws -> T {
        let store: any OperatorStore =
            switch self {
            case .sqlite(let path): try await SQLiteStore.open(path: path, synchronous: .full)
            case .postgres(let url): try await PostgresStore.openForCommand(url: url, logger: Self.silent)
            }
        return try await Self.run(store, close: { await store.close() }, body)
    }

    /// Opens (creating and migrating when needed) an operator store that the caller closes: the
    /// daemon's dashboard keeps one, apart from the daemon's own connection, for as long as it runs.
    /// On PostgreSQL its connection is opened again after the server closed it (a restart).
    func openOperatorStore() async throws -> any OperatorStore {
        switch self {
        case .sqlite(let path): try await SQLiteStore.open(path: path, synchronous: .full)
        case .postgres(let url): try await PostgresStore.openForDashboard(url: url, logger: Self.silent)
        }
    }

    /// Opens (creating and migrating when needed) the store a daemon works on.
    ///
    /// - Parameters:
    ///   - pollInterval: SQLite: how often the WAL file is checked for commits.
    ///   - safetyPoll: PostgreSQL: how often feeders look for work without a notification.
    ///   - listenURL: PostgreSQL: where to `LISTEN` (`--listen-db`), when not on the store's URL.
    func openDaemonStore(
        pollInterval: Duration, safetyPoll: Duration = .seconds(2), listenURL: PostgresURL? = nil, logger: Logger
    ) async throws -> any DaemonStore {
        switch self {
        case .sqlite(let path):
            try await SQLiteStore.open(
                path: path, synchronous: .normal, pollInterval: pollInterval, forDaemon: true)
        case .postgres(let url):
            try await PostgresStore.openForDaemon(
                url: url, listenURL: listenURL, logger: logger, safetyPoll: safetyPoll)
        }
    }

    /// Commands print only their results: the driver's own logging goes nowhere.
    static let silent = Logger(label: "dispatcher.store", factory: { _ in SwiftLogNoOpLogHandler() })

    private static func run<S, T: Sendable>(
        _ store: S, close: () async -> Void, _ body: (S) async throws -> T
    ) async throws -> T {
        do {
            let value = try await body(store)
            await close()
            return value
        } catch {
            await close()
            throw error
        }
    }
}
