import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

/// Enqueueing into the SQLite file from another program: SQLite's own `sqlite3` shell inserts
/// into the `enqueue` view, and the running daemon calls the upstream.
@Suite("enqueue from any program (SQLite)", .serialized, .timeLimit(.minutes(2)))
struct SQLiteEnqueueViewTests {
    /// `sqlite3 FILE SQL`; nil when the shell is not installed (outside CI).
    static func shell(_ sql: String, on path: String) throws -> (status: Int32, stderr: String)? {
        guard
            let binary = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"].first(
                where: FileManager.default.isExecutableFile)
        else {
            if StoreKind.isCI {
                Issue.record("sqlite3 is not installed; CI=true requires it (scripts/ensure-test-peers.sh)")
            }
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        // The shell waits for a lock the daemon holds for a moment, as any writer should.
        process.arguments = ["-cmd", ".timeout 5000", path, sql]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test func aRowInsertedIntoTheViewIsCalledByTheRunningDaemon() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.database
        // The file exists and is migrated before the other program opens it.
        #expect(try await DispatcherProcess.run(["stats"], in: directory).status == 0)
        let stub = UpstreamStub { request in .result("{\"method\":\"\(request.method ?? "-")\"}") }
        let port = try await stub.start()
        try await stub.stopping {
            let daemon = try DispatcherProcess.start(DaemonTests.runArguments(port: port, workers: 2), in: directory)
            defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
            try await Task.sleep(for: .milliseconds(300))
            let rows = try Rows(path)

            guard
                try Self.shell(#"INSERT INTO enqueue (method, params) VALUES ('view.ping', '{"a":1}')"#, on: path)
                    != nil
            else { return }
            try await waitUntil(timeout: .seconds(20)) { (try? rows.count(.succeeded)) == 1 }
            let job = try #require(try rows.all().first)
            #expect(job.method == "view.ping" && job.params == #"{"a":1}"# && job.queue == "default")
            #expect(job.priority == 0 && job.state == .succeeded && job.result == #"{"method":"view.ping"}"#)
            #expect(abs(job.runAt - job.createdAt) <= 1)

            // A known key creates nothing; delay_ms, priority and the limits are taken as given.
            let keyed = """
                INSERT INTO enqueue (method, params, queue, key, priority, delay_ms, max_attempts, timeout_ms)
                VALUES ('view.later', '[1]', 'default', 'k-1', 7, 3600000, 3, 2000);
                INSERT INTO enqueue (method, params, key) VALUES ('view.later', '[2]', 'k-1');
                """
            #expect(try Self.shell(keyed, on: path)?.status == 0)
            let later = try rows.all().filter { $0.idempotencyKey == "k-1" }
            #expect(later.count == 1)
            let first = try #require(later.first)
            #expect(
                first.params == "[1]" && first.priority == 7 && first.maxAttempts == 3
                    && first.timeoutMilliseconds == 2000)
            #expect(first.runAt - first.createdAt >= 3_599_000 && first.state == .pending)

            // A rolled-back transaction leaves nothing.
            #expect(
                try Self.shell("BEGIN; INSERT INTO enqueue (method) VALUES ('view.never'); ROLLBACK;", on: path)?.status
                    == 0)
            #expect(try rows.all().allSatisfy { $0.method != "view.never" })

            // The counts stay exact for these writes.
            let stats = try await DispatcherProcess.run(["stats", "--json"], in: directory)
            let line = try #require(stats.lines.first)
            let counts = try #require(try jsonObject(line)["counts"] as? [String: Any])
            #expect(
                (counts["succeeded"] as? NSNumber)?.int64Value
                    == (try rows.scalar("SELECT count(*) FROM jobs WHERE state = 'succeeded'")))
            #expect(
                (counts["pending"] as? NSNumber)?.int64Value
                    == (try rows.scalar("SELECT count(*) FROM jobs WHERE state = 'pending'")))
            daemon.signal(SIGTERM)
            #expect(try await daemon.wait(timeout: .seconds(30)).status == 0)
        }
    }

    @Test func badRowsAreRefusedNamingTheColumnAndWriteNothing() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.database
        #expect(try await DispatcherProcess.run(["enqueue", "--method", "m"], in: directory).status == 0)
        let cases: [(sql: String, says: String)] = [
            ("INSERT INTO enqueue (params) VALUES ('[1]')", "method: required"),
            ("INSERT INTO enqueue (method) VALUES ('')", "method: required"),
            (
                "INSERT INTO enqueue (method, params) VALUES ('m', '{not json')",
                "params: must be a JSON object or array"
            ),
            ("INSERT INTO enqueue (method, params) VALUES ('m', '42')", "params: must be a JSON object or array"),
            ("INSERT INTO enqueue (method, queue) VALUES ('m', '')", "queue: 1 to 1024 bytes"),
            ("INSERT INTO enqueue (method, key) VALUES ('m', '')", "key: 1 to 1024 bytes"),
            ("INSERT INTO enqueue (method, priority) VALUES ('m', 2000000)", "priority: must be an integer"),
            ("INSERT INTO enqueue (method, priority) VALUES ('m', 'high')", "priority: must be an integer"),
            ("INSERT INTO enqueue (method, delay_ms) VALUES ('m', -1)", "delay_ms: must be an integer"),
            ("INSERT INTO enqueue (method, max_attempts) VALUES ('m', 0)", "max_attempts: must be an integer"),
            ("INSERT INTO enqueue (method, timeout_ms) VALUES ('m', 0)", "timeout_ms: must be an integer"),
            // The table itself refuses the same from any other writer.
            (
                "INSERT INTO jobs (method, params, run_at, created_at) VALUES ('m', '{not json', 0, 0)",
                "params: must be a JSON object or array"
            ),
        ]
        for (sql, says) in cases {
            guard let result = try Self.shell(sql, on: path) else { return }
            #expect(result.status != 0, "\(sql)")
            #expect(result.stderr.contains(says), "\(sql): \(result.stderr)")
        }
        let jobs = try Rows(path).all()
        #expect(jobs.count == 1 && jobs[0].method == "m")
        #expect(try Rows(path).scalar("SELECT sum(count) FROM job_counts") == 1)
    }
}
