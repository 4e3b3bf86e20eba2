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
}
