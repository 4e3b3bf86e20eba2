import Testing

@testable import WorkerPool

@Suite("RetryPolicy", .timeLimit(.minutes(3)))
struct RetryPolicyTests {
    @Test func ceilingDoublesUpToTheCap() {
        let policy = RetryPolicy.exponentialJitter(base: .seconds(1), cap: .seconds(300))
        #expect(policy.ceiling(retry: 1) == .seconds(1))
        #expect(policy.ceiling(retry: 2) == .seconds(2))
        #expect(policy.ceiling(retry: 5) == .seconds(16))
        #expect(policy.ceiling(retry: 9) == .seconds(256))
        #expect(policy.ceiling(retry: 10) == .seconds(300))
        #expect(policy.ceiling(retry: 1000) == .seconds(300))
    }

    @Test func delaysStayWithinZeroAndTheCeilingAndSpreadOut() {
        let policy = RetryPolicy.exponentialJitter(base: .milliseconds(100), cap: .seconds(10))
        var generator = SystemRandomNumberGenerator()
        var distinct = Set<Duration>()
        for _ in 0..<200 {
            let delay = policy.delay(retry: 4, using: &generator)
            #expect(delay >= .zero && delay <= .milliseconds(800))
            distinct.insert(delay)
        }
        #expect(distinct.count > 100, "full jitter spreads delays over the window")
    }

    @Test func theMinimumIsAFloor() {
        let policy = RetryPolicy.exponentialJitter(
            base: .milliseconds(10), cap: .seconds(1), minimum: .milliseconds(50))
        for retry in 1...5 { #expect(policy.delay(retry: retry) >= .milliseconds(50)) }
    }
}
