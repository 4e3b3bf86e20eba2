import Foundation
import Logging
import PostgresNIO
import Testing
import UpstreamStub

@testable import Dispatcher

/// Enqueueing from the application's own PostgreSQL transaction: `dispatcher.enqueue(…)` and a
/// plain `INSERT INTO dispatcher.jobs`, woken by the database's own NOTIFY at commit.
@Suite("enqueue in the application's transaction (PostgreSQL)", .serialized, .timeLimit(.minutes(2)))
struct PostgresEnqueueFunctionTests {
    static var kinds: [StoreKind] { StoreKind.available.filter(\.isPostgres) }

    /// A connection of the application's own, straight to the server.
    static func connect(_ database: TestDatabase) async throws -> PostgresConnection {
        guard case .postgres(let url) = try database.location else { throw DispatcherError("not PostgreSQL") }
        return try await PostgresStore.connect(url: url, logger: StoreLocation.silent)
    }

    static func run(_ sql: String, on connection: PostgresConnection) async throws -> [PostgresRow] {
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: StoreLocation.silent).collect()
    }

    @Test(arguments: kinds)
    func aJobEnqueuedInTheApplicationsTransactionRunsIfAndOnlyIfItCommits(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let stub = UpstreamStub { request in .result("{\"method\":\"\(request.method ?? "-")\"}") }
        let port = try await stub.start()
        try await stub.stopping {
            // The daemon migrates the database; the application's table sits beside its tables.
            let daemon = try DispatcherProcess.start(
                DaemonTests.runArguments(port: port, workers: 2) + ["--db", database.argument], in: database.directory)
            defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
            let app = try await Self.connect(database)
            defer { Task { try? await app.close() } }
            try await waitUntil(timeout: .seconds(30)) {
                (try? await Self.run("SELECT 1 FROM pg_proc WHERE proname = 'enqueue'", on: app).count) == 1
            }
            _ = try await Self.run("CREATE TABLE orders (id bigint PRIMARY KEY, job bigint)", on: app)

            // Committed: the order and its job together.
            _ = try await Self.run("BEGIN", on: app)
            let id = try #require(
                try await Self.run(#"SELECT dispatcher.enqueue('app.call', '{"order": 7}', key => 'order-7')"#, on: app)
                    .first?.decode(Int64.self))
            _ = try await Self.run("INSERT INTO orders VALUES (7, \(id))", on: app)
            _ = try await Self.run("COMMIT", on: app)
            // Rolled back: neither.
            _ = try await Self.run("BEGIN", on: app)
            _ = try await Self.run("SELECT dispatcher.enqueue('app.never')", on: app)
            _ = try await Self.run("INSERT INTO orders VALUES (8, NULL)", on: app)
            _ = try await Self.run("ROLLBACK", on: app)
            // A plain INSERT by a program that knows only the table.
            _ = try await Self.run(
                "INSERT INTO dispatcher.jobs (queue, method, params, run_at, created_at) VALUES ('default', 'app.plain', '[1]', dispatcher.dispatcher_now_ms(), dispatcher.dispatcher_now_ms())",
                on: app)
            // The same key again returns the same job.
            let again = try await Self.run("SELECT dispatcher.enqueue('app.call', '[2]', key => 'order-7')", on: app)
            #expect(try again.first?.decode(Int64.self) == id)

            try await waitUntil(timeout: .seconds(20)) {
                let jobs = (try? await database.jobs()) ?? []
                return jobs.count == 2 && jobs.allSatisfy { $0.state == .succeeded }
            }
            let jobs = try await database.jobs()
            #expect(Set(jobs.map(\.method)) == ["app.call", "app.plain"])
            let call = try #require(jobs.first { $0.id == id })
            #expect(
                call.params == #"{"order": 7}"# && call.idempotencyKey == "order-7"
                    && call.result == #"{"method":"app.call"}"#)
            #expect(stub.requests == 2, "the rolled-back job never ran")
            #expect(try await Self.run("SELECT count(*) FROM orders", on: app).first?.decode(Int64.self) == 1)

            // The counts stay exact for these writes.
            let stats = try await DispatcherProcess.run(
                ["stats", "--json", "--db", database.argument], in: database.directory)
            let line = try #require(stats.lines.first)
            let counts = try #require(try jsonObject(line)["counts"] as? [String: Any])
            let stored = try await Self.run("SELECT count(*) FROM dispatcher.jobs WHERE state = 'succeeded'", on: app)
            #expect((counts["succeeded"] as? NSNumber)?.int64Value == (try stored.first?.decode(Int64.self)))
            daemon.signal(SIGTERM)
            #expect(try await daemon.wait(timeout: .seconds(30)).status == 0)
        }
    }

    @Test(arguments: kinds)
    func theDatabaseNotifiesAtCommitAndNeverForARollback(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        // Migrated by a command, as a daemon would.
        #expect(
            try await DispatcherProcess.run(["stats", "--db", database.argument], in: database.directory).status == 0)
        let listener = try await Self.connect(database)
        let app = try await Self.connect(database)
        let heard = Locked(0)
        let listening = Task {
            try await listener.listen(on: PostgresStore.channel) { notifications in
                for try await _ in notifications { heard.withLock { $0 += 1 } }
            }
        }
        defer {
            listening.cancel()
            Task {
                try? await listener.close()
                try? await app.close()
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        _ = try await Self.run("BEGIN", on: app)
        _ = try await Self.run("SELECT dispatcher.enqueue('m')", on: app)
        _ = try await Self.run("SELECT dispatcher.enqueue('m')", on: app)
        try await Task.sleep(for: .milliseconds(300))
        #expect(heard.withLock { $0 } == 0, "nothing is heard before the commit")
        _ = try await Self.run("COMMIT", on: app)
        try await waitUntil(timeout: .seconds(10)) { heard.withLock { $0 } >= 1 }
        let afterCommit = heard.withLock { $0 }
        _ = try await Self.run("BEGIN", on: app)
        _ = try await Self.run("INSERT INTO dispatcher.jobs (method, run_at, created_at) VALUES ('m', 0, 0)", on: app)
        _ = try await Self.run("ROLLBACK", on: app)
        _ = try await Self.run("INSERT INTO dispatcher.jobs (method, run_at, created_at) VALUES ('m', 0, 0)", on: app)
        try await waitUntil(timeout: .seconds(10)) { heard.withLock { $0 } > afterCommit }
        try await Task.sleep(for: .milliseconds(300))
        #expect(
            heard.withLock { $0 } == afterCommit + 1, "one notification for the plain insert, none for the rollback")
    }

    @Test(arguments: kinds)
    func everyBadArgumentIsRefusedNamingIt(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        #expect(
            try await DispatcherProcess.run(["stats", "--db", database.argument], in: database.directory).status == 0)
        let app = try await Self.connect(database)
        defer { Task { try? await app.close() } }
        let cases: [(call: String, says: String)] = [
            ("dispatcher.enqueue(NULL)", "method: required"),
            ("dispatcher.enqueue('')", "method: required"),
            ("dispatcher.enqueue('m', '42')", "params: must be a JSON object or array"),
            ("dispatcher.enqueue('m', '\"text\"')", "params: must be a JSON object or array"),
            ("dispatcher.enqueue('m', queue => '')", "queue: 1 to 1024 bytes"),
            ("dispatcher.enqueue('m', queue => NULL)", "queue: 1 to 1024 bytes"),
            ("dispatcher.enqueue('m', key => '')", "key: 1 to 1024 bytes"),
            ("dispatcher.enqueue('m', priority => 2000000)", "priority: must be from"),
            ("dispatcher.enqueue('m', run_at => now() + interval '11 years')", "run_at: required"),
            ("dispatcher.enqueue('m', max_attempts => 0)", "max_attempts: must be from"),
            ("dispatcher.enqueue('m', timeout => '0 seconds')", "timeout: must be from"),
            ("dispatcher.enqueue('m', timeout => '25 hours')", "timeout: must be from"),
        ]
        for (call, says) in cases {
            do {
                _ = try await Self.run("SELECT \(call)", on: app)
                Issue.record("\(call) was accepted")
            } catch {
                #expect(PostgresErrors.cause(of: error).contains(says), "\(call): \(PostgresErrors.cause(of: error))")
                #expect(PostgresErrors.sqlState(of: error) == "22023", "\(call)")
            }
        }
        #expect(try await Self.run("SELECT count(*) FROM dispatcher.jobs", on: app).first?.decode(Int64.self) == 0)
    }
}
