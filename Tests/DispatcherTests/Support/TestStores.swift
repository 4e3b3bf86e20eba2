import Foundation
import Logging
import PostgresNIO
import Testing

@testable import Dispatcher

/// The stores every conformance and end-to-end test runs against.
///
/// PostgreSQL comes from `DISPATCHER_TEST_POSTGRES_URL` (scripts/test.sh starts a throwaway
/// cluster and sets it). Without it the PostgreSQL cases are left out, with a note on stderr,
/// except under `CI=true`, where they run and fail: CI must never pass by skipping them. The
/// same holds for the two pgbouncers in front of it (`DISPATCHER_TEST_PGBOUNCER_SESSION_URL`,
/// `DISPATCHER_TEST_PGBOUNCER_TRANSACTION_URL`), which the conformance suite and a subset of
/// the end-to-end tests also run through (`withPoolers`).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres
    /// PostgreSQL through pgbouncer in session mode.
    case pgbouncerSession = "pgbouncer-session"
    /// PostgreSQL through pgbouncer in transaction mode (`?pooling=transaction`); a daemon the
    /// tests open in-process listens on the server directly (as `--listen-db` would).
    case pgbouncerTransaction = "pgbouncer-transaction"

    var testDescription: String { rawValue }

    /// The PostgreSQL server's URL (any database of it; each test creates its own).
    static let postgresURL: String? = {
        let value = ProcessInfo.processInfo.environment["DISPATCHER_TEST_POSTGRES_URL"]
        return value?.isEmpty == false ? value : nil
    }()

    static func poolerURL(_ mode: String) -> String? {
        let value = ProcessInfo.processInfo.environment["DISPATCHER_TEST_PGBOUNCER_\(mode)_URL"]
        return value?.isEmpty == false ? value : nil
    }

    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// `available`, and PostgreSQL through pgbouncer in both modes when they are given (or CI).
    static let withPoolers: [StoreKind] = {
        guard available.contains(.postgres) else { return available }
        if (poolerURL("SESSION") != nil && poolerURL("TRANSACTION") != nil) || isCI {
            return available + [.pgbouncerSession, .pgbouncerTransaction]
        }
        FileHandle.standardError.write(
            Data(
                "note: DISPATCHER_TEST_PGBOUNCER_SESSION_URL/_TRANSACTION_URL are not set; the tests through pgbouncer are skipped (scripts/test.sh sets them)\n"
                    .utf8))
        return available
    }()

    /// Whether the kind is PostgreSQL, directly or through a pooler.
    var isPostgres: Bool { self != .sqlite }

    /// The kinds to test here: SQLite always, PostgreSQL when a server is given or under CI.
    static let available: [StoreKind] = {
        if postgresURL != nil || isCI { return [.sqlite, .postgres] }
        FileHandle.standardError.write(
            Data(
                "note: DISPATCHER_TEST_POSTGRES_URL is not set; PostgreSQL store tests are skipped (scripts/test.sh sets it)\n"
                    .utf8))
        return [.sqlite]
    }()
}

/// One fresh, empty database of a kind: an SQLite file in a temporary folder, or a new
/// PostgreSQL database on the test server.
struct TestDatabase: Sendable {
    let kind: StoreKind
    let directory: TemporaryDirectory
    /// What `--db` takes.
    let argument: String
    /// Through a transaction pooler: the same database, directly (what `--listen-db` takes).
    var listenArgument: String? = nil

    var location: StoreLocation { get throws { try StoreLocation(parsing: argument) } }

    /// The environment a `dispatcher` child process needs to use this database by default.
    var environment: [String: String] { ["DISPATCHER_DB": argument] }

    /// Every job, oldest first, read through the store's own protocol.
    func jobs() async throws -> [Job] {
        try await location.withOperatorStore { try await $0.list(state: nil, queue: nil, limit: Int.max) }
    }

    static func make(_ kind: StoreKind, in directory: TemporaryDirectory? = nil) async throws -> TestDatabase {
        let directory = try directory ?? TemporaryDirectory()
        switch kind {
        case .sqlite:
            return TestDatabase(kind: kind, directory: directory, argument: directory.database)
        case .postgres, .pgbouncerSession, .pgbouncerTransaction:
            guard let server = StoreKind.postgresURL else {
                throw DispatcherError(
                    "CI=true but DISPATCHER_TEST_POSTGRES_URL is not set: PostgreSQL tests cannot run")
            }
            let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            let url = try PostgresURL(parsing: server)
            let connection = try await PostgresStore.connect(url: url, logger: StoreLocation.silent)
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: StoreLocation.silent)
            try? await connection.close()
            var testURL = url
            testURL.database = name
            guard kind != .postgres else {
                return TestDatabase(kind: kind, directory: directory, argument: testURL.withPassword)
            }
            let mode = kind == .pgbouncerSession ? "SESSION" : "TRANSACTION"
            guard let pooler = StoreKind.poolerURL(mode) else {
                throw DispatcherError(
                    "CI=true but DISPATCHER_TEST_PGBOUNCER_\(mode)_URL is not set: the tests through pgbouncer cannot run"
                )
            }
            // The pooler passes every database name through to the server.
            var pooled = try PostgresURL(parsing: pooler)
            pooled.database = name
            pooled.pooling = kind == .pgbouncerSession ? .session : .transaction
            return TestDatabase(
                kind: kind, directory: directory, argument: pooled.withPassword,
                listenArgument: kind == .pgbouncerTransaction ? testURL.withPassword : nil)
        }
    }

    /// Opens the store as a daemon does (both protocols on one object) and runs its background
    /// work while `body` runs.
    func withStore<T: Sendable>(
        _ body: @escaping @Sendable (any DaemonStore & OperatorStore) async throws -> T
    ) async throws -> T {
        let store: any DaemonStore & OperatorStore
        switch try location {
        case .sqlite(let path):
            store = try await SQLiteStore.open(path: path, synchronous: .normal, pollInterval: .milliseconds(2))
        case .postgres(let url):
            let listenURL = try listenArgument.map { try PostgresURL(parsing: $0) }
            store = try await PostgresStore.openForDaemon(
                url: url, listenURL: listenURL, logger: StoreLocation.silent, safetyPoll: .seconds(60))
        }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await store.run()
                return nil
            }
            group.addTask { try await body(store) }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let value = result {
                    group.cancelAll()
                    await store.close()
                    return value
                }
            }
            throw DispatcherError("the store's run() ended early")
        }
    }
}

extension PostgresURL {
    /// The URL with its password (tests pass it to the binary as `--db`).
    var withPassword: String {
        let credentials = user + (password.map { ":" + $0 } ?? "")
        return "postgres://\(credentials)@\(endpoint)/\(database)?sslmode=\(sslMode.rawValue)"
            + (pooling == .none ? "" : "&pooling=\(pooling.rawValue)")
            + (schema == PostgresURL.standardSchema ? "" : "&schema=\(schema)")
    }
}

extension String {
    /// SQL a test writes for both stores, its table names qualified with the dispatcher's
    /// PostgreSQL schema (which `PostgresSchema.rewrite` can then move to another).
    var qualifiedForTests: String {
        replacing(
            /\b(FROM|INTO|UPDATE) (jobs|job_counts|schedules|paused_queues)\b/,
            with: { "\($0.output.1) dispatcher.\($0.output.2)" })
    }
}
