import Foundation
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
        defer { Task { await stub.stop() } }

        let arguments = DaemonTests.runArguments(
            port: port, workers: 8, extra: ["--max-in-flight", "5", "--exit-when-idle"])
        async let first = DispatcherProcess.run(arguments, in: database.directory, environment: database.environment)
        async let second = DispatcherProcess.run(arguments, in: database.directory, environment: database.environment)
        async let third = DispatcherProcess.run(arguments, in: database.directory, environment: database.environment)
        for result in try await [first, second, third] { #expect(result.status == 0, "\(result.stderr)") }

        let jobs = try await database.jobs()
        #expect(jobs.count == 300 && jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 })
        #expect(stub.timesSeen.count == 300 && stub.timesSeen.values.allSatisfy { $0 == 1 })
        // 24 workers, at most 5 calls at once; and the limit is used, not starved.
        #expect(stub.peakInFlight <= 5, "peak \(stub.peakInFlight)")
        #expect(stub.peakInFlight >= 3, "peak \(stub.peakInFlight)")
    }

    @Test(arguments: StoreKind.available)
    func aKilledDaemonsSlotsComeBackWithinItsLease(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await DaemonTests.enqueue(20, in: database)
        // The first daemon's calls never answer: it holds all three slots when it is killed.
        let stalled = UpstreamStub { _ in .stall }
        let stalledPort = try await stalled.start()
        defer { Task { await stalled.stop() } }
        let holder = try DispatcherProcess.start(
            DaemonTests.runArguments(
                port: stalledPort, workers: 8,
                extra: ["--max-in-flight", "3", "--timeout", "1s", "--lease-margin", "1s"]),
            in: database.directory, environment: database.environment)
        defer { if holder.isRunning { holder.signal(SIGKILL) } }
        try await waitUntil(timeout: .seconds(30)) { stalled.requests == 3 }
        holder.signal(SIGKILL)
        _ = try await holder.wait(timeout: .seconds(30))
        #expect(try await database.jobs().filter { $0.state == .running }.count == 3)

        // The next daemon finds the three slots taken until the leases (1 s + 1 s) run out,
        // then runs every job, never more than three at once.
        let stub = UpstreamStub { _ in .delayed(2, .result("true")) }
        let port = try await stub.start()
        defer { Task { await stub.stop() } }
        let began = ContinuousClock.now
        let result = try await DispatcherProcess.run(
            DaemonTests.runArguments(port: port, workers: 8, extra: ["--max-in-flight", "3", "--exit-when-idle"]),
            in: database.directory, environment: database.environment, timeout: .seconds(60))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(ContinuousClock.now - began < .seconds(30))
        #expect(try await database.jobs().allSatisfy { $0.state == .succeeded })
        #expect(stub.timesSeen.count == 20)
        #expect(stub.peakInFlight <= 3, "peak \(stub.peakInFlight)")
    }

    @Test func aMaxInFlightOutOfRangeIsRefusedInOneLine() async throws {
        let directory = try TemporaryDirectory()
        let result = try await DispatcherProcess.run(
            ["run", "--upstream", "http://127.0.0.1:9/", "--max-in-flight", "0"], in: directory)
        #expect(result.status != 0)
        #expect(result.stderr.contains("--max-in-flight must be between 1 and 1000000"), "\(result.stderr)")
    }
}
