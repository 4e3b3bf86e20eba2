import Logging
import Testing

@testable import WorkerPool

@Suite("CircuitBreaker admission and the shared upstream breaker, event by event")
struct UpstreamBreakerTests {
    typealias Breaker = CircuitBreaker<ContinuousClock.Instant>
    let start = ContinuousClock.now

    @Test func theFeederClaimsNothingWhileOpenThenOneProbe() {
        var breaker = Breaker(configuration: .init(failureThreshold: 2, coolDown: .seconds(5)))
        #expect(breaker.admission(now: start) == .unrestricted)
        _ = breaker.recordFailure(permit: .allowed, now: start)
        #expect(breaker.admission(now: start) == .unrestricted)
        _ = breaker.recordFailure(permit: .allowed, now: start)
        #expect(breaker.admission(now: start + .seconds(1)) == .wait(until: start + .seconds(5)))
        #expect(breaker.admission(now: start + .seconds(5)) == .probe)
        // Asking changes nothing; the probe's call does.
        #expect(breaker.admission(now: start + .seconds(5)) == .probe)
        #expect(breaker.acquire(now: start + .seconds(5)).0 == .probe)
        #expect(breaker.admission(now: start + .seconds(5)) == .wait(until: start + .seconds(5) + .milliseconds(100)))
        #expect(breaker.recordSuccess(permit: .probe) == .closed)
        #expect(breaker.admission(now: start + .seconds(6)) == .unrestricted)
    }

    @Test func queuesOnOneUpstreamShareOneBreaker() {
        let shared = UpstreamBreaker(
            upstream: "http://127.0.0.1:1/", configuration: .init(failureThreshold: 4, coolDown: .seconds(5)),
            logger: Logger(label: "test"))
        // Two queues' workers fail twice each: four failures of one upstream open it for both.
        for _ in 0..<2 {
            shared.recordFailure(permit: shared.acquire(now: start), now: start, cause: "queue a: refused")
            shared.recordFailure(permit: shared.acquire(now: start), now: start, cause: "queue b: refused")
        }
        #expect(shared.acquire(now: start + .seconds(1)) == .rejected(retryAt: start + .seconds(5)))
        #expect(shared.admission(now: start + .seconds(1)) == .wait(until: start + .seconds(5)))
        // One probe for the upstream, whichever queue makes it; the other waits for its verdict.
        #expect(shared.acquire(now: start + .seconds(5)) == .probe)
        if case .rejected = shared.acquire(now: start + .seconds(5)) {} else { Issue.record("second probe allowed") }
        // A connect made as the probe closes the breaker; an ordinary connect does not reset it.
        shared.connectSucceeded(permit: .probe, failedAttempts: 3)
        #expect(shared.admission(now: start + .seconds(5)) == .unrestricted)
        for _ in 0..<3 { shared.recordFailure(permit: .allowed, now: start, cause: "x") }
        shared.connectSucceeded(permit: .allowed, failedAttempts: 0)
        shared.recordFailure(permit: .allowed, now: start + .seconds(6), cause: "x")
        #expect(shared.admission(now: start + .seconds(6)) == .wait(until: start + .seconds(11)))
    }

    @Test func failedConnectsOpenTheBreakerAndAFailedProbeReopensIt() {
        let shared = UpstreamBreaker(
            upstream: "https://127.0.0.1:1/", configuration: .init(failureThreshold: 2, coolDown: .seconds(1)),
            logger: Logger(label: "test"))
        shared.connectFailed(permit: shared.acquire(now: start), now: start, cause: "certificate verify failed")
        shared.connectFailed(permit: shared.acquire(now: start), now: start, cause: "certificate verify failed")
        #expect(shared.admission(now: start) == .wait(until: start + .seconds(1)))
        let probe = shared.acquire(now: start + .seconds(1))
        #expect(probe == .probe)
        shared.connectFailed(permit: probe, now: start + .seconds(1), cause: "certificate verify failed")
        #expect(shared.admission(now: start + .seconds(1)) == .wait(until: start + .seconds(2)))
    }
}
