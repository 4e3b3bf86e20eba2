import Foundation
import TestSupport
import Testing
import UpstreamStub

@testable import Dispatcher

/// `--max-in-flight`: a queue's calls in flight at once, across every daemon on the database.
@Suite("fleet-wide max in flight, end to end")
struct MaxInFlightTests {
    @Test(arguments: StoreKind.withPoolers)
    func threeDaemonsOfEightWorkersNeverExceedFiveAtTheUpstream(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await DaemonTests.enqueue(300, in: database)
        let stub = UpstreamStub { _ in .delayed(5, .result("true")) }
        let port = try await stub.start()
        try await stub.stopping {
            let arguments = DaemonTests.runArguments(
                port: port, workers: 8, extra: ["--max-in-flight", "5", "--exit-when-idle"])
            try await DaemonTests.runTogether(3, arguments, in: database)

            let jobs = try await database.jobs()
            #expect(jobs.count == 300 && jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 })
            #expect(stub.timesSeen.count == 300 && stub.timesSeen.values.allSatisfy { $0 == 1 })
            // 24 workers, at most 5 calls at once; and the limit is used, not starved.
            #expect(stub.peakInFlight <= 5, "peak \(stub.peakInFlight)")
            #expect(stub.peakInFlight >= 3, "peak \(stub.peakInFlight)")
        }
    }

    @Test(arguments: StoreKind.available)
    func aKilledDaemonsSlotsComeBackWithinItsLease(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await DaemonTests.enqueue(20, in: database)
        // The first daemon's calls never answer: it holds all three slots when it is killed.
        let stalled = UpstreamStub { _ in .stall }
        let stalledPort = try await stalled.start()
        try await stalled.stopping {
            let holder = try DispatcherProcess.start(
                DaemonTests.runArguments(
                    port: stalledPort, workers: 8,
                    extra: ["--max-in-flight", "3", "--timeout", "1s", "--lease-margin", "1s"]),
                in: database.directory, environment: database.environment)
            defer { if holder.isRunning { holder.signal(SIGKILL) } }
            try await waitUntil(timeout: .seconds(30)) { stalled.requests == 3 }
            // Its eight workers have jobs; three calls are out, as `top` shows of its row.
            let top = try await DispatcherProcess.run(
                ["top", "--once"], in: database.directory, environment: database.environment)
            #expect(top.status == 0, "\(top.stderr)")
            #expect(top.stdout.contains("3 of 3"), "\(top.stdout)")
            try await Task.sleep(for: .milliseconds(300))
            #expect(stalled.requests == 3)
            holder.signal(SIGKILL)
            let killed = ContinuousClock.now
            _ = try await holder.wait(timeout: .seconds(30))

            // Fresh jobs are due at once, but the dead daemon's row holds every slot until it runs
            // out (an unchanged row is rewritten once half its 1 s lease is gone, so it outlives the
            // kill by at least 0.4 s); then all forty run (the twenty it claimed once their job
            // leases end), never more than three at once.
            try await DaemonTests.enqueue(20, in: database)
            let firstCall = Locked<ContinuousClock.Instant?>(nil)
            let stub = UpstreamStub { _ in
                firstCall.withLock { $0 = $0 ?? .now }
                return .delayed(2, .result("true"))
            }
            let port = try await stub.start()
            try await stub.stopping {
                let result = try await DispatcherProcess.run(
                    DaemonTests.runArguments(
                        port: port, workers: 8, extra: ["--max-in-flight", "3", "--exit-when-idle"]),
                    in: database.directory, environment: database.environment, timeout: .seconds(60))
                #expect(result.status == 0, "\(result.stderr)")
                let waited = try #require(firstCall.withLock { $0 }) - killed
                #expect(waited >= .milliseconds(400), "first call \(waited) after the kill")
                #expect(waited < .seconds(10), "first call \(waited) after the kill")
                #expect(try await database.jobs().allSatisfy { $0.state == .succeeded })
                #expect(stub.timesSeen.count == 40)
                #expect(stub.peakInFlight <= 3, "peak \(stub.peakInFlight)")
            }
        }
    }

    @Test func aDaemonWaitingForSlotsStopsAtOnceAndGivesItsJobsAndRowBack() async throws {
        let database = try await TestDatabase.make(.sqlite)
        try await DaemonTests.enqueue(40, in: database)
        let stalled = UpstreamStub { _ in .stall }
        let port = try await stalled.start()
        try await stalled.stopping {
            let arguments = DaemonTests.runArguments(
                port: port, workers: 4, extra: ["--max-in-flight", "2", "--timeout", "30s", "--drain-timeout", "1s"])
            let holder = try DispatcherProcess.start(
                arguments, in: database.directory, environment: database.environment)
            defer { if holder.isRunning { holder.signal(SIGKILL) } }
            try await waitUntil(timeout: .seconds(30)) { stalled.requests == 2 }
            // The second daemon claims jobs, but its workers find every slot taken.
            let waiter = try DispatcherProcess.start(
                arguments, in: database.directory, environment: database.environment)
            defer { if waiter.isRunning { waiter.signal(SIGKILL) } }
            try await waitUntil(timeout: .seconds(30)) { () async -> Bool in
                let top = try? await DispatcherProcess.run(
                    ["top", "--once"], in: database.directory, environment: database.environment)
                return top?.stdout.components(separatedBy: "of 2").count == 3
            }
            #expect(stalled.requests == 2)
            waiter.signal(SIGTERM)
            let stopped = try await waiter.wait(timeout: .seconds(30))
            #expect(stopped.status == 0, "\(stopped.stderr)")
            #expect(stalled.requests == 2)
            // Its row is gone, and only the holder's two jobs are running.
            let top = try await DispatcherProcess.run(
                ["top", "--once"], in: database.directory, environment: database.environment)
            #expect(top.stdout.components(separatedBy: "2 of 2").count == 2, "\(top.stdout)")
            holder.signal(SIGTERM)
            #expect(try await holder.wait(timeout: .seconds(30)).status == 0)
            let jobs = try await database.jobs()
            #expect(jobs.allSatisfy { $0.state == .pending }, "\(jobs.map(\.state))")
        }
    }

    @Test func aMaxInFlightOutOfRangeIsRefusedInOneLine() async throws {
        let directory = try TemporaryDirectory()
        let result = try await DispatcherProcess.run(
            ["run", "--upstream", "http://127.0.0.1:9/", "--max-in-flight", "0"], in: directory)
        #expect(result.status != 0)
        #expect(result.stderr.contains("--max-in-flight must be between 1 and 1000000"), "\(result.stderr)")
    }
}
