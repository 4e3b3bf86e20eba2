import Testing

@testable import WorkerPool

/// A generator that always draws the same value, so a backoff is known in advance.
struct FixedGenerator: RandomNumberGenerator {
    var value: UInt64
    mutating func next() -> UInt64 { value }
}

@Suite("JobLife: outcome + attempt + limits + policy + clock + random -> next state")
struct JobLifeTests {
    let now: Int64 = 1_700_000_000_000
    let life = JobLife(defaultMaxAttempts: 3, retry: .exponentialJitter(base: .seconds(1), cap: .seconds(8)))

    func decide(
        _ outcome: CallOutcome, attempt: Int, maxAttempts: Int64? = nil, draw: UInt64 = .max
    )
        -> JobLife.Decision
    {
        var generator = FixedGenerator(value: draw)
        return life.decide(outcome, attempt: attempt, maxAttempts: maxAttempts, now: now, using: &generator)
    }

    @Test func theDefaultsLiveInOnePlace() {
        #expect(JobLife.defaultMaxAttempts == 20)
        #expect(JobLife.defaultRetryPolicy == .exponentialJitter(base: .seconds(1), cap: .seconds(300)))
        #expect(JobLife().defaultMaxAttempts == 20)
        #expect(JobLife().retry == JobLife.defaultRetryPolicy)
    }

    @Test func aResultSucceedsWhateverTheAttempt() {
        #expect(decide(.succeeded(result: Array("1".utf8)), attempt: 1) == .succeeded(result: Array("1".utf8)))
        #expect(decide(.succeeded(result: []), attempt: 99) == .succeeded(result: []))
    }

    @Test func aRetryableFailureIsRetriedAfterTheBackoffUntilAttemptsRunOut() {
        let failure = CallOutcome.failed(.retryable("HTTP 503"))
        // The draw is the whole window when the generator returns its largest value, nothing
        // when it returns 1: 1 s, 2 s, then capped at 8 s.
        #expect(decide(failure, attempt: 1) == .retry(at: now + 1000, error: "HTTP 503"))
        #expect(decide(failure, attempt: 2) == .retry(at: now + 2000, error: "HTTP 503"))
        #expect(decide(failure, attempt: 1, draw: 1) == .retry(at: now, error: "HTTP 503"))
        #expect(decide(failure, attempt: 3) == .failed(error: "HTTP 503"))
        #expect(decide(failure, attempt: 3, maxAttempts: 10) == .retry(at: now + 4000, error: "HTTP 503"))
        #expect(decide(failure, attempt: 9, maxAttempts: 10) == .retry(at: now + 8000, error: "HTTP 503"))
        #expect(decide(failure, attempt: 10, maxAttempts: 10) == .failed(error: "HTTP 503"))
        #expect(decide(failure, attempt: 1, maxAttempts: 1) == .failed(error: "HTTP 503"))
    }

    @Test func retryAfterWinsWhenItIsLongerThanTheBackoff() {
        let failure = CallOutcome.failed(.retryable("HTTP 429", retryAfter: .seconds(30)))
        #expect(decide(failure, attempt: 1) == .retry(at: now + 30_000, error: "HTTP 429"))
        let short = CallOutcome.failed(.retryable("HTTP 429", retryAfter: .milliseconds(10)))
        #expect(decide(short, attempt: 2) == .retry(at: now + 2000, error: "HTTP 429"))
    }

    @Test func aPermanentFailureFailsAtOnce() {
        #expect(decide(.failed(.permanent("HTTP 400")), attempt: 1, maxAttempts: 50) == .failed(error: "HTTP 400"))
    }

    @Test func aCallNeverMadeIsReleasedAtTheTimeItAsksFor() {
        let open = CallOutcome.notAttempted(.init(reason: "circuit breaker open", retryAfter: .milliseconds(1500)))
        #expect(decide(open, attempt: 3) == .released(at: now + 1500, reason: "circuit breaker open"))
        let shutdown = CallOutcome.notAttempted(.init(reason: "dispatcher shutting down"))
        #expect(decide(shutdown, attempt: 20) == .released(at: now, reason: "dispatcher shutting down"))
        // Sub-millisecond waits round up: the job is never due before the breaker's probe time.
        let tiny = CallOutcome.notAttempted(.init(reason: "r", retryAfter: .microseconds(1)))
        #expect(decide(tiny, attempt: 1) == .released(at: now + 1, reason: "r"))
    }
}
