import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

/// Faults of the SQLite file itself under a running daemon, checked against the built binary:
/// the file removed or replaced (the daemon must leave, non-zero, so a supervisor restarts it on
/// the right file), and a full file system (one outage, reported once, with no job lost).
@Suite("database file faults, end to end", .timeLimit(.minutes(5)))
struct DatabaseFaultTests {
    enum FileFault: String, CaseIterable, CustomTestStringConvertible {
        /// `rm dispatcher.db*`.
        case removed
        /// Another database renamed over the path.
        case replaced

        var testDescription: String { rawValue }
    }

    @Test(arguments: FileFault.allCases)
    func aDaemonWhoseFileIsRemovedOrReplacedExitsNonZeroWithinTwoSeconds(fault: FileFault) async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(20_000, in: directory)
        let other = directory.path("other.db")
        if fault == .replaced {
            let created = try await DispatcherProcess.run(
                ["enqueue", "--db", other, "--method", "next", "--params", "[1]"], in: directory)
            #expect(created.status == 0, "\(created.stderr)")
        }
        // Busy through the test: 8 workers at 5 ms a call take seconds over 20,000 jobs.
        let stub = UpstreamStub { _ in .delayed(5, .result("1")) }
        let port = try await stub.start()
        try await stub.stopping {
            let database = directory.database
            let daemon = try DispatcherProcess.start(
                DaemonTests.runArguments(
                    port: port, extra: ["--db", database, "--log-format", "json", "--log-level", "info"]),
                in: directory)
            try await waitUntil { stub.requests >= 300 }
            switch fault {
            case .removed:
                for suffix in ["", "-wal", "-shm"] { unlink(database + suffix) }
            case .replaced:
                #expect(rename(other, database) == 0)
            }
            let faultAt = ContinuousClock.now
            let result = try await daemon.wait(timeout: .seconds(30))
            let elapsed = ContinuousClock.now - faultAt
            #expect(result.status != 0, "exits non-zero so that a supervisor restarts it")
            #expect(elapsed <= .seconds(2), "exited \(elapsed) after the file was \(fault)")
            let change = fault == .removed ? "was removed" : "was replaced by another file"
            let errors = try Self.logLines(result.stderr).filter { $0["level"] as? String == "error" }
            #expect(
                errors.contains { ($0["message"] as? String ?? "").contains("database file \(database) \(change)") },
                "an error line names the path and what happened: \(result.stderr.suffix(2000))")
            #expect(result.stderr.contains("dispatcher stopped"), "it drained before leaving")
        }
    }

    @Test(.enabled(if: TmpfsMount.isAvailable || StoreKind.isCI))
    func aFullFileSystemIsOneOutageWithNoJobLostAndNoneRunTwice() async throws {
        let directory = try TemporaryDirectory()
        let mount = try TmpfsMount(at: directory.path("fs"), megabytes: 64)
        defer { mount.unmount() }
        let database = mount.path + "/dispatcher.db"
        let jobs = 10_000
        let enqueued = try await DispatcherProcess.run(
            ["enqueue", "--db", database, "--batch", "--quiet"], in: directory, stdin: ndjson(jobs))
        #expect(enqueued.status == 0, "\(enqueued.stderr)")
        // Results of 2 KiB make every batch of outcomes need new pages, so a full disk is felt at
        // once (rows that only change in place could reuse the WAL's space for a while).
        let result = "\"" + String(repeating: "r", count: 2048) + "\""
        let stub = UpstreamStub { _ in .delayed(5, .result(result)) }
        let port = try await stub.start()
        try await stub.stopping {
            let daemon = try DispatcherProcess.start(
                DaemonTests.runArguments(
                    port: port,
                    extra: [
                        "--db", database, "--exit-when-idle", "--admin", "0", "--log-format", "json", "--log-level",
                        "info",
                    ]), in: directory)
            let admin = try await Self.adminPort(of: daemon)
            try await waitUntil { stub.requests >= 500 }

            let filler = try mount.fill()
            try await waitUntil(timeout: .seconds(30)) { daemon.stderrSoFar.contains("store not writable") }
            let during = try HTTPGet.get(port: admin, path: "/healthz")
            #expect(during.status == 503)
            #expect(during.body.contains("\"store\":\"not_writable\""), "\(during.body)")
            #expect(during.body.contains("full"), "the reason names the cause: \(during.body)")
            // The outage lasts: the feeder keeps failing to claim, outcomes wait in the completer.
            try await Task.sleep(for: .milliseconds(1500))
            let requestsDuring = stub.requests
            #expect(unlink(filler) == 0)

            try await waitUntil(timeout: .seconds(30)) { daemon.stderrSoFar.contains("store writable again") }
            var after: HTTPGet.Response?
            try await waitUntil(timeout: .seconds(10)) {
                after = try? HTTPGet.get(port: admin, path: "/healthz")
                return after?.status == 200 || !daemon.isRunning
            }
            #expect(after?.status == 200, "healthy again once writable: \(after?.body ?? "no answer")")
            let run = try await daemon.wait(timeout: .seconds(120))
            #expect(run.status == 0, "\(run.stderr.suffix(2000))")
            #expect(stub.requests > requestsDuring, "it went on after the outage")

            let rows = try await StoreLocation.sqlite(path: database).withOperatorStore {
                try await $0.list(state: nil, queue: nil, limit: Int.max)
            }
            #expect(rows.count == jobs)
            #expect(rows.allSatisfy { $0.state == .succeeded }, "none lost, none left running")
            let seen = stub.timesSeen
            #expect((1...jobs).allSatisfy { (seen[Int64($0)] ?? 0) >= 1 }, "every job reached the upstream")
            // No daemon died and the outage was far shorter than a lease, so at-least-once allows
            // no second call here: the outcomes waited in memory and were written afterwards.
            let duplicates = seen.values.reduce(0) { $0 + $1 - 1 }
            #expect(duplicates == 0)

            let lines = try Self.logLines(run.stderr)
            let errors = lines.filter { $0["level"] as? String == "error" }
            #expect(errors.count == 1, "one error line for the outage: \(errors)")
            #expect((errors.first?["message"] as? String)?.hasPrefix("store not writable") == true)
            let summaries = lines.compactMap { $0["message"] as? String }.filter {
                $0.hasPrefix("store writable again after")
            }
            #expect(summaries.count == 1, "one summary line: \(summaries)")
            #expect(summaries.first?.contains("failed attempts") == true)
        }
    }

    /// The JSON log lines of a run (the final `error:` line of a failed run is plain text).
    static func logLines(_ stderr: String) throws -> [[String: Any]] {
        try stderr.split(separator: "\n").filter { $0.hasPrefix("{") }.map { try jsonObject(String($0)) }
    }

    /// The admin listener's port, from the JSON startup line.
    static func adminPort(of daemon: DispatcherProcess.Running) async throws -> Int {
        var port: Int?
        try await waitUntil(timeout: .seconds(30)) {
            let log = daemon.stderrSoFar
            guard let range = log.range(of: #""address":"127\.0\.0\.1:\d+""#, options: .regularExpression) else {
                return false
            }
            port = Int(log[range].dropLast().split(separator: ":").last ?? "")
            return port != nil
        }
        return try #require(port)
    }
}
