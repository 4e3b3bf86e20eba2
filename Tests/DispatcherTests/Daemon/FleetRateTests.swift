import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

/// `--rate` counts the fleet: every daemon on the database shares the queue's tokens through the
/// store; `--rate-scope daemon` keeps a bucket per process.
@Suite("fleet-wide rate limits, end to end", .timeLimit(.minutes(3)))
struct FleetRateTests {
    @Test(arguments: StoreKind.withPoolers)
    func twoDaemonsAtOneHundredPerSecondNeverExceedItInAnyOneSecondWindow(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await DaemonTests.enqueue(300, in: database)
        let stub = UpstreamStub()
        let port = try await stub.start()
        try await stub.stopping {
            let arguments = DaemonTests.runArguments(
                port: port, workers: 8, extra: ["--rate", "100/s", "--exit-when-idle"])
            try await DaemonTests.runTogether(2, arguments, in: database)

            let jobs = try await database.jobs()
            #expect(jobs.count == 300 && jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 })
            #expect(stub.timesSeen.count == 300 && stub.timesSeen.values.allSatisfy { $0 == 1 })
            // Rate + burst (1) in any second, for the two together. And the rate is used, if not to
            // the last token: with burst 1 a claim takes one token at a time, and one that comes
            // late (a claim through pgbouncer is six round trips) loses the time it came late by.
            let worst = stub.mostCalls(inAnyWindowOf: .seconds(1))
            #expect(worst <= 101, "most calls in one second: \(worst)")
            #expect(worst >= 60, "most calls in one second: \(worst)")
            let arrivals = stub.arrivals.sorted()
            #expect(arrivals.last! - arrivals.first! >= .seconds(2.5))
        }
    }

    /// The scope that keeps a bucket per daemon: two daemons make twice the rate (so the test
    /// above would see the fleet's rate broken if the claims did not share it).
    @Test func rateScopeDaemonLetsEachDaemonHaveTheWholeRate() async throws {
        let database = try await TestDatabase.make(.sqlite)
        try await DaemonTests.enqueue(300, in: database)
        let stub = UpstreamStub()
        let port = try await stub.start()
        try await stub.stopping {
            let arguments = DaemonTests.runArguments(
                port: port, workers: 8, extra: ["--rate", "100/s", "--rate-scope", "daemon", "--exit-when-idle"])
            try await DaemonTests.runTogether(2, arguments, in: database)

            #expect(stub.timesSeen.count == 300)
            let worst = stub.mostCalls(inAnyWindowOf: .seconds(1))
            #expect(worst > 150, "most calls in one second: \(worst)")
            #expect(worst <= 202, "most calls in one second: \(worst)")
        }
    }

    @Test(arguments: [
        (["--rate-scope", "galaxy", "--rate", "10/s"], "--rate-scope must be fleet or daemon (got 'galaxy')"),
        (["--rate-scope", "daemon"], "--rate-scope needs --rate"),
    ])
    func aBadRateScopeIsRefusedInOneLine(flags: [String], message: String) async throws {
        let directory = try TemporaryDirectory()
        let result = try await DispatcherProcess.run(
            ["run", "--upstream", "http://127.0.0.1:9/"] + flags, in: directory)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}
