import Logging
import PostgresNIO
import Synchronization
import WorkerPool

/// The PostgreSQL store: many daemons on many hosts share one database.
///
/// A daemon queries through a pooled `PostgresClient` and hears of new work on one dedicated
/// `LISTEN` connection (see `PostgresListener`); a command uses one plain connection. Nothing
/// relies on session state a connection pooler cannot keep (README, "Behind a connection
/// pooler"): no startup parameters, locks that end with their transaction, and through a
/// transaction pooler (`?pooling=transaction`) no named prepared statements and no `LISTEN` on
/// the pooled URL. A connection whose statement or transaction failed is closed, never reused,
/// so no pooler is left holding a half-open transaction of ours. Rows are
/// leased with `FOR UPDATE SKIP LOCKED`, outcomes are written one statement per batch, and every
/// lease and due time is judged by the database's clock (`dispatcher.dispatcher_now_ms()`), so clock skew
/// between hosts can never let two daemons hold one job.
final class PostgresStore: Sendable {
    /// The channel daemons listen on: every insert into jobs notifies it (a trigger), and so do
    /// retry, release and resume.
    static let channel = "dispatcher_jobs"

    enum Backend: Sendable {
        /// A daemon's pool; `run()` drives it.
        case pool(PostgresClient)
        /// A command's single connection.
        case connection(PostgresConnection)
        /// The dashboard's connection, opened again after the server closed it.
        case shared(PostgresSharedConnection)
    }

    let url: PostgresURL
    let backend: Backend
    let logger: Logger
    /// Wake-ups: notifications heard, the safety poll, and this process's own releases.
    let broadcast = ChangeBroadcast()
    let listener: PostgresListener?
    /// Whether the daemon's hot statements run as named prepared statements: not through a
    /// transaction pooler, and no longer once the server lost one (a pooler the URL did not name).
    /// Nor in a schema other than the standard one: postgres-nio prepares a named statement from
    /// its compile-time text, which names schema `dispatcher`; unnamed, it is rewritten first.
    let namedStatements: Atomic<Bool>
    /// Moves past generation 0 once the pool runs: the daemon's tasks start together, and a
    /// query that reached the pool before `PostgresClient.run()` would make postgres-nio warn.
    private let poolStarted = ChangeBroadcast()

    private init(url: PostgresURL, backend: Backend, listener: PostgresListener?, logger: Logger) {
        self.url = url
        self.backend = backend
        self.listener = listener
        self.logger = logger
        self.namedStatements = Atomic(!url.poolsTransactions && url.schema == PostgresURL.standardSchema)
    }

    /// How often feeders look for work when no `LISTEN` connection can be had: `--db` goes
    /// through a transaction pooler and no `--listen-db` is given.
    static let pooledSafetyPoll: Duration = .milliseconds(250)

    /// Connects, migrates (under an advisory lock), and keeps the connection for a command.
    static func openForCommand(url: PostgresURL, logger: Logger) async throws -> PostgresStore {
        let connection = try await connect(url: url, logger: logger)
        do {
            try await PostgresMigrator().migrate(connection, schema: url.schema, logger: logger)
        } catch {
            try? await connection.close()
            throw PostgresErrors.opening(url, error)
        }
        return PostgresStore(url: url, backend: .connection(connection), listener: nil, logger: logger)
    }

    /// Connects and migrates like `openForCommand`, for a store that lives as long as the daemon
    /// (the dashboard's): its connection is opened again after a server restart.
    static func openForDashboard(url: PostgresURL, logger: Logger) async throws -> PostgresStore {
        let command = try await openForCommand(url: url, logger: logger)
        guard case .connection(let connection) = command.backend else { return command }
        return PostgresStore(
            url: url, backend: .shared(PostgresSharedConnection(url: url, connection: connection, logger: logger)),
            listener: nil, logger: logger)
    }

    /// Connects and migrates once (so a bad URL fails here, in one line), then prepares the pool
    /// and the listener, which start with `run()`.
    ///
    /// - Parameter listenURL: where the listener connects (`--listen-db`); nil: `url`, unless
    ///   that goes through a transaction pooler, where `LISTEN` does not work and the feeders
    ///   poll every `pooledSafetyPoll` instead.
    static func openForDaemon(
        url: PostgresURL, listenURL: PostgresURL? = nil, logger: Logger, safetyPoll: Duration
    ) async throws -> PostgresStore {
        let connection = try await connect(url: url, logger: logger)
        do {
            try await PostgresMigrator().migrate(connection, schema: url.schema, logger: logger)
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw PostgresErrors.opening(url, error)
        }
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: try clientTLS(url.sslMode))
        configuration.options.minimumConnections = 1
        configuration.options.maximumConnections = 8
        // No startup parameters: pgbouncer refuses any it does not know. The claims and outcome
        // writes turn synchronous_commit off for their own transaction instead (see
        // PostgresDaemonStatements).
        // The pool logs every failed connection attempt at info level; during an outage the
        // daemon's store health reports it once (an error line, then a summary), so the pool's
        // own lines are kept to notices and above.
        var backgroundLogger = logger
        backgroundLogger.logLevel = max(logger.logLevel, .notice)
        let client = PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger)
        let listener: PostgresListener
        if let listenURL {
            listener = PostgresListener(url: listenURL, safetyPoll: safetyPoll, logger: logger)
        } else if url.poolsTransactions {
            logger.notice(
                "no LISTEN through a transaction pooler: new jobs are found by polling every \(pooledSafetyPoll.wholeMilliseconds) ms; give --listen-db a direct or session-pooled URL for instant wake-ups",
                metadata: ["db": "\(url.redacted)"])
            listener = PostgresListener(url: nil, safetyPoll: pooledSafetyPoll, logger: logger)
        } else {
            listener = PostgresListener(url: url, safetyPoll: safetyPoll, logger: logger)
        }
        return PostgresStore(url: url, backend: .pool(client), listener: listener, logger: logger)
    }

    /// Runs the pool and the listener until cancelled (a command's store has neither).
    func run() async {
        guard case .pool(let client) = backend else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // PostgresClient.run() ends at the first sign of graceful shutdown, but the daemon
                // still writes its last outcomes after SIGTERM. A detached task does not inherit
                // the service group's shutdown signal; it is awaited here and cancelled with us,
                // so it never outlives this call.
                let started = self.poolStarted
                let pool = Task.detached {
                    // The waiting queries resume on other threads; this one goes straight on
                    // into run(), which marks the client running before its first suspension.
                    started.signal()
                    await client.run()
                }
                await withTaskCancellationHandler {
                    await pool.value
                } onCancel: {
                    pool.cancel()
                }
            }
            if let listener {
                let broadcast = self.broadcast
                group.addTask { await listener.run(signal: { broadcast.signal() }) }
            }
            await group.waitForAll()
        }
    }

    func close() async {
        switch backend {
        case .pool: break
        case .connection(let connection): try? await connection.close()
        case .shared(let shared): await shared.close()
        }
    }

    // MARK: Connections

    static func connectionConfiguration(_ url: PostgresURL) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch url.sslMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        return PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: tls)
    }

    private static func clientTLS(_ mode: PostgresURL.SSLMode) throws -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    /// How long a connect may take, from the TCP handshake through TLS and authentication to
    /// the server's first ReadyForQuery.
    static let connectTimeout: Duration = .seconds(10)

    /// Opens one connection, or fails within `connectTimeout` with one line naming the host and
    /// the cause (a refused or timed-out connect, a failed login, a server starting up or in
    /// recovery), however the server or a pooler in front of it behaves.
    static func connect(url: PostgresURL, logger: Logger) async throws -> PostgresConnection {
        do {
            var options = try connectionConfiguration(url)
            options.options.connectTimeout = .seconds(connectTimeout.components.seconds)
            let configuration = options
            // The connect timeout above covers the TCP handshake only; a server (or pooler) that
            // accepts and then never finishes the startup must not leave us waiting either.
            return try await StatementDeadline.run(
                within: connectTimeout,
                // The connection is kept until its close completes: PostgresNIO asserts that none
                // is released still open.
                abandoned: { late in late.close().whenComplete { _ in withExtendedLifetime(late) {} } },
                { try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger) })
        } catch is StatementDeadline.Exceeded {
            throw PostgresErrors.opening(url, LoginTimeout())
        } catch {
            throw PostgresErrors.opening(url, error)
        }
    }

    /// A connect or login that did not finish within `connectTimeout`.
    struct LoginTimeout: Error, CustomStringConvertible {
        var description: String {
            "no answer within \(PostgresStore.connectTimeout.wholeMilliseconds / 1000) s (a host dropping packets, or a pooler that cannot reach its server)"
        }
    }

    /// Runs `body` on a connection: the pool's next free one, or the command's own.
    ///
    /// - Parameter replayable: whether `body` may run a second time on the dashboard's shared
    ///   connection after the server closed the first under it. Only for idempotent writes: a
    ///   statement may have committed before the close, and an enqueue run twice is two jobs.
    func withConnection<T: Sendable>(
        replayable: Bool = true, _ body: @escaping @Sendable (PostgresSession) async throws -> T
    ) async throws -> T {
        let schema = url.schema
        let body: @Sendable (PostgresConnection) async throws -> T = {
            try await body(PostgresSession(connection: $0, schema: schema))
        }
        do {
            switch backend {
            case .pool(let client):
                if poolStarted.generation == 0 { await poolStarted.wait(after: 0) }
                // The leased connection, for the deadline to close when a statement hangs.
                let leased = Mutex<PostgresConnection?>(nil)
                do {
                    return try await StatementDeadline.run(
                        within: StatementDeadline.standard,
                        expired: { leased.withLock { $0 }?.close().whenComplete { _ in } },
                        {
                            try await client.withConnection { connection in
                                leased.withLock { $0 = connection }
                                do {
                                    return try await body(connection)
                                } catch {
                                    // Whatever failed (a statement, a commit, a rollback, a
                                    // cancelled wait), the connection goes: the pool opens a
                                    // fresh one, and no transaction or lock of ours can outlive
                                    // the failure on it.
                                    try? await connection.close()
                                    throw error
                                }
                            }
                        })
                } catch let exceeded as StatementDeadline.Exceeded where leased.withLock({ $0 == nil }) {
                    // The pool never had a connection to give: it keeps retrying its connects
                    // quietly, so one connect of our own names the cause (a wrong password, the
                    // server refusing or in recovery) instead of a bare timeout.
                    let probe = try await Self.connect(url: url, logger: logger)
                    try? await probe.close()
                    throw exceeded
                }
            case .connection(let connection): return try await body(connection)
            case .shared(let shared):
                let connection = try await shared.connection()
                do {
                    return try await body(connection)
                } catch _ where connection.isClosed && replayable {
                    // The server closed it under us (a restart): once more on a new connection.
                    // The dashboard's writes (retry, cancel, pause) are idempotent state changes,
                    // so a statement that did commit before the close is not applied twice.
                    let again = try await shared.connection()
                    do {
                        return try await body(again)
                    } catch {
                        await shared.discard(again)
                        throw error
                    }
                } catch {
                    // A failed statement or transaction: the next request gets a fresh connection.
                    await shared.discard(connection)
                    throw error
                }
            }
        } catch {
            throw PostgresErrors.describe(error, url: url)
        }
    }

    /// Runs `body` in one transaction on one connection, committing when it returns.
    func withTransaction<T: Sendable>(
        replayable: Bool = true, _ body: @escaping @Sendable (PostgresSession) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        return try await withConnection(replayable: replayable) { session in
            try await session.withTransaction(logger: logger) { try await body($0) }
        }
    }
}
