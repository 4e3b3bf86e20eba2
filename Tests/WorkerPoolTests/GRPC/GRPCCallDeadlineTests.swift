import NIOPosix
import Testing

@testable import WorkerPool

@Suite("gRPC call deadlines", .timeLimit(.minutes(1)))
struct GRPCCallDeadlineTests {
    @Test func theHeaderHasAtMostEightDigitsAndRoundsUp() {
        #expect(GRPCCallDeadline.header(for: .seconds(10)) == "10000m")
        #expect(GRPCCallDeadline.header(for: .microseconds(1500)) == "2m")
        #expect(GRPCCallDeadline.header(for: .nanoseconds(1)) == "1m")
        #expect(GRPCCallDeadline.header(for: .seconds(200_000)) == "200000S")
        #expect(GRPCCallDeadline.header(for: .seconds(200_000_000)) == "55556H")
    }

    @Test func aCallPastItsDeadlineIsCancelledAndSaysSo() async {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let (result, expired) = await GRPCCallDeadline.run(
            timeout: .milliseconds(50), on: eventLoop, executor: nil
        ) {
            try await Task.sleep(for: .seconds(30))
            return 1
        }
        #expect(expired)
        #expect(throws: CancellationError.self) { try result.get() }
    }

    @Test func aCallWithinItsDeadlineReturnsItsResult() async throws {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let (result, expired) = await GRPCCallDeadline.run(timeout: .seconds(30), on: eventLoop, executor: nil) { 7 }
        #expect(!expired)
        #expect(try result.get() == 7)
    }
}
