import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

@Suite("retention: the daemon prunes finished jobs", .timeLimit(.minutes(3)))
struct RetentionTests {
    @Test(arguments: StoreKind.available)
    func theDaemonDeletesFinishedJobsPastTheirRetentionAndKeepsTheRest(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let directory = database.directory
        try await DaemonTests.enqueue(20, in: database)
        // A cancelled job of a queue no daemon serves, kept forever by --retain-cancelled.
        let other = try await DispatcherProcess.run(
            ["enqueue", "--queue", "other", "--method", "later"], in: directory, environment: database.environment)
        #expect(other.status == 0, "\(other.stderr)")
        let otherID = try #require(Int64(other.stdout.trimmingSpaces()))
        let cancelled = try await DispatcherProcess.run(
            ["cancel", String(otherID)], in: directory, environment: database.environment)
        #expect(cancelled.status == 0, "\(cancelled.stderr)")

        let stub = UpstreamStub { _ in .result("1") }
        let port = try await stub.start()
        try await stub.stopping {
            let daemon = try DispatcherProcess.start(
                DaemonTests.runArguments(
                    port: port,
                    extra: [
                        "--retain-succeeded", "1s", "--retain-cancelled", "forever", "--prune-interval", "100ms",
                        "--log-level", "info",
                    ]), in: directory, environment: database.environment)
            try await waitUntil(timeout: .seconds(30)) { stub.requests >= 20 }
            // Each succeeded job goes a second after it finished; the cancelled one stays.
            var remaining = [Job]()
            let deadline = ContinuousClock.now + .seconds(30)
            repeat {
                try await Task.sleep(for: .milliseconds(100))
                remaining = try await database.jobs()
            } while remaining.count > 1 && ContinuousClock.now < deadline
            #expect(remaining.map(\.id) == [otherID])
            #expect(remaining.first?.state == .cancelled)

            let stats = try await DispatcherProcess.run(
                ["stats", "--json"], in: directory, environment: database.environment)
            #expect(stats.status == 0)
            #expect(stats.lines.count == 1 && stats.stdout.contains("\"queue\":\"other\""), "\(stats.stdout)")
            #expect(stats.stdout.contains("\"cancelled\":1"))

            daemon.signal(SIGTERM)
            let result = try await daemon.wait()
            #expect(result.status == 0)
            #expect(result.stderr.contains("pruned finished jobs past their retention"), "\(result.stderr)")
            #expect(result.stderr.contains("retention=succeeded 1s, failed 30d, cancelled forever"), "\(result.stderr)")
        }
    }

    @Test func badRetentionSettingsAreRejectedInOneLine() async throws {
        let directory = try TemporaryDirectory()
        for (flag, value) in [
            ("--retain-succeeded", "soon"), ("--retain-failed", "3 days"), ("--prune-interval", "1ms"),
        ] {
            let result = try await DispatcherProcess.run(
                ["run", "--upstream", "http://127.0.0.1:1/", flag, value], in: directory)
            #expect(result.status != 0)
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.contains(flag), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.database))
    }
}
