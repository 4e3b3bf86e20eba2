import Testing

@testable import WorkerPool

@Suite("CircuitBreaker", .timeLimit(.minutes(3)))
struct CircuitBreakerTests {
    typealias Breaker = CircuitBreaker<ContinuousClock.Instant>
    let start = ContinuousClock.now

    @Test func opensAfterTheConfiguredConsecutiveFailures() {
        var breaker = Breaker(configuration: .init(failureThreshold: 3, coolDown: .seconds(10)))
        for _ in 0..<2 {
            #expect(breaker.acquire(now: start).0 == .allowed)
            #expect(breaker.recordFailure(permit: .allowed, now: start) == nil)
        }
        #expect(breaker.recordFailure(permit: .allowed, now: start) == .opened)
        #expect(breaker.acquire(now: start + .seconds(1)).0 == .rejected(retryAt: start + .seconds(10)))
        #expect(breaker.gaugeValue == 2)
    }

    @Test func aSuccessResetsTheFailureCount() {
        var breaker = Breaker(configuration: .init(failureThreshold: 2, coolDown: .seconds(10)))
        _ = breaker.recordFailure(permit: .allowed, now: start)
        _ = breaker.recordSuccess(permit: .allowed)
        #expect(breaker.recordFailure(permit: .allowed, now: start) == nil)
        #expect(breaker.state == .closed(consecutiveFailures: 1))
    }

    @Test func letsOneProbeThroughAfterTheCoolDownAndClosesOnSuccess() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, coolDown: .seconds(5)))
        #expect(breaker.recordFailure(permit: .allowed, now: start) == .opened)
        let later = start + .seconds(5)
        let (permit, transition) = breaker.acquire(now: later)
        #expect(permit == .probe)
        #expect(transition == .halfOpened)
        // While the probe is out, everyone else waits.
        if case .rejected = breaker.acquire(now: later).0 {} else { Issue.record("second caller must wait") }
        #expect(breaker.recordSuccess(permit: .probe) == .closed)
        #expect(breaker.acquire(now: later).0 == .allowed)
    }

    @Test func aFailedProbeReopensForAnotherCoolDown() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, coolDown: .seconds(5)))
        _ = breaker.recordFailure(permit: .allowed, now: start)
        let later = start + .seconds(6)
        #expect(breaker.acquire(now: later).0 == .probe)
        #expect(breaker.recordFailure(permit: .probe, now: later) == .opened)
        #expect(breaker.acquire(now: later + .seconds(1)).0 == .rejected(retryAt: later + .seconds(5)))
    }

    @Test func lateResultsOfCallsAdmittedBeforeOpeningDoNotCloseIt() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, coolDown: .seconds(5)))
        _ = breaker.recordFailure(permit: .allowed, now: start)
        #expect(breaker.recordSuccess(permit: .allowed) == nil)
        if case .open = breaker.state {} else { Issue.record("breaker must stay open") }
    }

    @Test func aReleasedProbeLetsTheNextCallerProbe() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, coolDown: .seconds(1)))
        _ = breaker.recordFailure(permit: .allowed, now: start)
        #expect(breaker.acquire(now: start + .seconds(2)).0 == .probe)
        breaker.releaseProbe(permit: .probe)
        #expect(breaker.acquire(now: start + .seconds(2)).0 == .probe)
    }
}
