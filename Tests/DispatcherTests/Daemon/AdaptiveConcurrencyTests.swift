import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

/// `--adaptive`: the daemon finds an upstream's knee itself, end to end through the binary.
@Suite("adaptive concurrency, end to end", .serialized, .timeLimit(.minutes(3)))
struct AdaptiveConcurrencyTests {
    /// An upstream whose latency climbs steeply past four concurrent calls: 5 ms up to four, then
    /// 5 ms + 2.5 ms × (n − 4)² (six at once take 15 ms each, sixteen 365 ms).
    static func kneeAtFour() -> UpstreamStub {
        UpstreamStub(recordsRequests: true) { request in
            let over = Int64(max(0, request.inFlight - 4))
            return .delayed(5 + over * over * 5 / 2, .result("true"))
        }
    }

    struct Drain {
        var callsPerSecond: Double
        /// The 99th percentile of calls in flight met by arriving calls.
        var p99InFlight: Int
        var stderr: String
    }

    /// Drains `jobs` jobs against a fresh knee upstream and measures at the upstream.
    static func drain(_ jobs: Int, workers: Int, adaptive: Bool) async throws -> Drain {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(jobs, in: directory)
        let stub = kneeAtFour()
        let port = try await stub.start()
        return try await stub.stopping {
            let result = try await DispatcherProcess.run(
                DaemonTests.runArguments(
                    port: port, workers: workers, extra: (adaptive ? ["--adaptive"] : []) + ["--exit-when-idle"]),
                in: directory, timeout: .seconds(120))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(stub.timesSeen.count == jobs)
            let arrivals = stub.arrivals.sorted()
            let span = arrivals.last! - arrivals.first!
            let seconds = Double(span.components.seconds) + Double(span.components.attoseconds) / 1e18
            let inFlight = stub.receivedRequests.map(\.inFlight).sorted()
            return Drain(
                callsPerSecond: Double(jobs - 1) / seconds, p99InFlight: inFlight[inFlight.count * 99 / 100],
                stderr: result.stderr)
        }
    }

    @Test func sixteenAdaptiveWorkersSettleNearTheKneeAndOutrunBothFixedChoices() async throws {
        let adaptive = try await Self.drain(2_000, workers: 16, adaptive: true)
        let fixed4 = try await Self.drain(2_000, workers: 4, adaptive: false)
        // Sixteen calls at once take 365 ms: a few hundred jobs say enough.
        let fixed16 = try await Self.drain(300, workers: 16, adaptive: false)
        let figures =
            "adaptive \(Int(adaptive.callsPerSecond))/s (p99 in flight \(adaptive.p99InFlight)), "
            + "fixed 4 \(Int(fixed4.callsPerSecond))/s, fixed 16 \(Int(fixed16.callsPerSecond))/s"
        #expect(adaptive.p99InFlight <= 8, "\(figures)")
        #expect(adaptive.callsPerSecond >= 3 * fixed16.callsPerSecond, "\(figures)")
        #expect(adaptive.callsPerSecond >= 0.5 * fixed4.callsPerSecond, "\(figures)")
        // Sixteen fixed workers do meet the knee: the comparison is not against a straw man.
        #expect(fixed16.p99InFlight >= 12, "\(figures)")
    }

    @Test func anUnknownConcurrencyModeIsRefusedWithItsPath() async throws {
        let directory = try TemporaryDirectory()
        let config = directory.url.appendingPathComponent("dispatcher.json")
        try Data(#"{"queues": [{"upstream": "http://127.0.0.1:9/", "concurrency": "elastic"}]}"#.utf8)
            .write(to: config)
        let result = try await DispatcherProcess.run(["run", "--config", config.path], in: directory)
        #expect(result.status != 0)
        #expect(
            result.stderr.contains("queues[0].concurrency must be fixed or adaptive (got 'elastic')"),
            "\(result.stderr)")
    }
}
