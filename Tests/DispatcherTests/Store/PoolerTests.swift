import Foundation
import Logging
import PostgresNIO
import Testing
import UpstreamStub

@testable import Dispatcher

/// PostgreSQL as deployed: through pgbouncer with its default settings, in session and in
/// transaction mode (scripts/pgbouncer-test-server.sh), each checked against the built binary.
@Suite(
    "PostgreSQL through pgbouncer, end to end", .timeLimit(.minutes(5)),
    .enabled(if: StoreKind.withPoolers.contains(.pgbouncerTransaction)))
struct PoolerTests {
    static let pooled: [StoreKind] = [.pgbouncerSession, .pgbouncerTransaction]

    @Test(arguments: pooled)
    func aWrongPasswordThroughThePoolerFailsInOneLine(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        var url = try PostgresURL(parsing: database.argument)
        url.password = "not-the-password"
        let stub = UpstreamStub { _ in .result("1") }
        let port = try await stub.start()
        try await stub.stopping {
            for arguments in [["list"], ["enqueue", "--method", "m"], DaemonTests.runArguments(port: port)] {
                let result = try await DispatcherProcess.run(
                    arguments + ["--db", url.withPassword], in: database.directory, timeout: .seconds(30))
                #expect(result.status == 1, "\(arguments.first ?? "") \(url.redacted): \(result.stderr)")
                let lines = result.stderr.split(separator: "\n")
                #expect(lines.count == 1, "one line: \(result.stderr)")
                #expect(result.stderr.contains(url.endpoint), "names the pooler: \(result.stderr)")
                #expect(result.stderr.contains("authentication failed"), "names the cause: \(result.stderr)")
                #expect(!result.stderr.contains("not-the-password"), "never prints the password")
            }
        }
    }

    /// A pooler whose server is down accepts the connect and holds the login while it retries:
    /// the command still ends, in one line naming the pooler, at the connect timeout.
    @Test func aPoolerThatCannotReachItsServerFailsInOneLineAtTheConnectTimeout() async throws {
        let directory = try TemporaryDirectory()
        let script = PostgresFaultTests.scripts.appendingPathComponent("pgbouncer-test-server.sh").path
        let poolerDirectory = directory.path("pgbouncer")
        do {
            let started = try await PostgresFaultTests.shell(
                [
                    script, "start", poolerDirectory, "postgres://postgres:dispatcher-test@127.0.0.1:1/postgres",
                    "session",
                ],
                in: directory)
            let url = try PostgresURL(parsing: started.trimmingCharacters(in: .whitespacesAndNewlines))
            let result = try await DispatcherProcess.run(
                ["list", "--db", url.withPassword], in: directory, timeout: .seconds(60))
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
            #expect(
                result.stderr.contains(url.endpoint) && result.stderr.contains("no answer within 10 s"),
                "\(result.stderr)")
        } catch {
            _ = try? await PostgresFaultTests.shell([script, "stop", poolerDirectory], in: directory)
            throw error
        }
        _ = try? await PostgresFaultTests.shell([script, "stop", poolerDirectory], in: directory)
    }

    @Test(arguments: pooled)
    func fourConcurrentFirstCommandsOnAnEmptyDatabaseAllSucceedAndHoldNoLock(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let commands = try (0..<4).map { index in
            try DispatcherProcess.start(
                ["enqueue", "--method", "first", "--params", "[\(index)]"], in: database.directory,
                environment: database.environment)
        }
        for command in commands {
            let result = try await command.wait(timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.isEmpty, "\(result.stderr)")
        }
        // A later command neither waits for a lock nor finds one held on any server connection.
        let later = try await DispatcherProcess.run(
            ["enqueue", "--method", "later"], in: database.directory, environment: database.environment,
            timeout: .seconds(30))
        #expect(later.status == 0, "\(later.stderr)")
        let jobs = try await database.jobs()
        #expect(jobs.map(\.method).sorted() == ["first", "first", "first", "first", "later"])
        let direct = try PostgresURL(parsing: try #require(StoreKind.postgresURL))
        let connection = try await PostgresStore.connect(url: direct, logger: StoreLocation.silent)
        // This test's database only: another test's daemon may hold a transaction's lock briefly.
        guard case .postgres(let url) = try database.location else { throw DispatcherError("not PostgreSQL") }
        let held = try await connection.query(
            """
            SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                AND database = (SELECT oid FROM pg_database WHERE datname = \(url.database))
            """, logger: StoreLocation.silent
        ).collect().first?.decode(Int64.self)
        try? await connection.close()
        #expect(held == 0, "advisory locks left held: \(held ?? -1)")
    }

    /// A transaction pooler the URL does not name: named prepared statements go missing between
    /// transactions, and the daemon switches to unnamed ones instead of failing.
    @Test func aTransactionPoolerTheURLDoesNotNameStillDrainsEveryJobOnce() async throws {
        let database = try await TestDatabase.make(.pgbouncerTransaction)
        var url = try PostgresURL(parsing: database.argument)
        url.pooling = .none
        let environment = ["DISPATCHER_DB": url.withPassword]
        let enqueued = try await DispatcherProcess.run(
            ["enqueue", "--batch", "--quiet"], in: database.directory, stdin: ndjson(2000), environment: environment)
        #expect(enqueued.status == 0, "\(enqueued.stderr)")
        let stub = UpstreamStub { _ in .result("1") }
        let port = try await stub.start()
        try await stub.stopping {
            let arguments = DaemonTests.runArguments(port: port, workers: 4, extra: ["--exit-when-idle"])
            let first = try DispatcherProcess.start(arguments, in: database.directory, environment: environment)
            let second = try DispatcherProcess.start(arguments, in: database.directory, environment: environment)
            for daemon in [first, second] {
                let result = try await daemon.wait(timeout: .seconds(180))
                #expect(result.status == 0, "\(result.stderr.suffix(2000))")
                #expect(!result.stderr.contains("store unreachable"), "\(result.stderr.suffix(2000))")
                let warnings = result.stderr.components(separatedBy: "prepared statement did not survive").count - 1
                #expect(warnings <= 1, "warned once at most: \(result.stderr.suffix(2000))")
            }
            let jobs = try await database.jobs()
            #expect(jobs.count == 2000 && jobs.allSatisfy { $0.state == .succeeded })
            #expect(stub.timesSeen.count == 2000 && stub.timesSeen.values.allSatisfy { $0 == 1 }, "every job once")
        }
    }

    /// Through a transaction pooler with `--listen-db` naming the server directly: the daemon is
    /// woken by notifications, which the enqueues send through the pooler.
    @Test func aTransactionPooledDaemonWithListenDBDrainsAndWakesOnNotifications() async throws {
        let database = try await TestDatabase.make(.pgbouncerTransaction)
        let listen = try #require(database.listenArgument)
        let stub = UpstreamStub { _ in .result("1") }
        let port = try await stub.start()
        try await stub.stopping {
            try await DaemonTests.enqueue(2000, in: database)
            let daemon = try DispatcherProcess.start(
                DaemonTests.runArguments(port: port, extra: ["--listen-db", listen, "--log-level", "info"]),
                in: database.directory, environment: database.environment)
            defer { daemon.signal(SIGTERM) }
            try await waitUntil(timeout: .seconds(120)) { stub.timesSeen.count >= 2000 }
            // Idle now; more jobs arrive through the pooler and are found.
            try await DaemonTests.enqueue(10, in: database)
            try await waitUntil(timeout: .seconds(30)) { stub.timesSeen.count >= 2010 }
            daemon.signal(SIGTERM)
            let result = try await daemon.wait(timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr.suffix(2000))")
            #expect(!result.stderr.contains("polling every"), "listened, did not fall back to the poll")
            let jobs = try await database.jobs()
            #expect(jobs.count == 2010 && jobs.allSatisfy { $0.state == .succeeded })
            #expect(stub.timesSeen.values.allSatisfy { $0 == 1 }, "every job once")
        }
    }

    /// Without `--listen-db` a transaction-pooled daemon says once that it polls.
    @Test func aTransactionPooledDaemonWithoutListenDBSaysItPolls() async throws {
        let database = try await TestDatabase.make(.pgbouncerTransaction)
        try await DaemonTests.enqueue(100, in: database)
        let stub = UpstreamStub { _ in .result("1") }
        let port = try await stub.start()
        try await stub.stopping {
            let result = try await DispatcherProcess.run(
                DaemonTests.runArguments(port: port, extra: ["--exit-when-idle", "--log-level", "notice"]),
                in: database.directory, environment: database.environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.components(separatedBy: "polling every 250 ms").count - 1 == 1, "\(result.stderr)")
            #expect(try await database.jobs().allSatisfy { $0.state == .succeeded })
        }
    }
}

/// `--listen-db` and `?pooling=` as typed, no server needed.
@Suite("pooler settings")
struct PoolerSettingsTests {
    @Test func poolingIsReadFromTheURLAndShownInItsRedactedForm() throws {
        let url = try PostgresURL(parsing: "postgres://u:secret@db:6432/jobs?sslmode=disable&pooling=transaction")
        #expect(url.pooling == .transaction && url.poolsTransactions && url.sslMode == .disable)
        #expect(url.redacted == "postgres://u:***@db:6432/jobs?sslmode=disable&pooling=transaction")
        #expect(try PostgresURL(parsing: "postgres://u@db/jobs?pooling=session").pooling == .session)
        #expect(try PostgresURL(parsing: "postgres://u@db/jobs").pooling == .none)
        #expect(throws: DispatcherError.self) { try PostgresURL(parsing: "postgres://u@db/jobs?pooling=statement") }
    }

    @Test func aServerMessageIsShortenedToItsFirstLine() {
        #expect(PostgresErrors.oneLine("FATAL: no\nDETAIL: more\nHINT: even more") == "FATAL: no")
        #expect(PostgresErrors.oneLine("\n  first  \nsecond") == "first")
        let long = PostgresErrors.oneLine(String(repeating: "x", count: 5000))
        #expect(long.count == PostgresErrors.longest && long.hasSuffix("…"))
    }

    @Test func badListenDBSettingsFailInOneLine() async throws {
        let directory = try TemporaryDirectory()
        let cases: [(arguments: [String], message: String)] = [
            (["--db", directory.database, "--listen-db", "postgres://u@h/d"], "--listen-db needs a PostgreSQL --db"),
            (
                [
                    "--db", "postgres://u@127.0.0.1:1/d", "--listen-db",
                    "postgres://u@127.0.0.1:1/d?pooling=transaction",
                ],
                "must not go through a transaction pooler"
            ),
            (["--db", "postgres://u@127.0.0.1:1/d", "--listen-db", directory.database], "must be a postgres:// URL"),
        ]
        for (arguments, message) in cases {
            let result = try await DispatcherProcess.run(
                ["run", "--upstream", "http://127.0.0.1:1/"] + arguments, in: directory, timeout: .seconds(30))
            #expect(result.status != 0)
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
    }
}
