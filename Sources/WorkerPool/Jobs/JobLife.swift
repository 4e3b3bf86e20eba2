/// What happens to a job after a call, as a pure state machine: the call's outcome, the
/// attempt, the job's limits, the retry policy, the clock and a random source in; the job's next
/// state out. The daemon's completer only carries the decision to the store.
///
///     outcome                      attempt < max attempts     attempt ≥ max attempts
///     ─────────────────────────    ───────────────────────    ──────────────────────
///     succeeded                    succeeded                  succeeded
///     failed, retryable            retry at now + backoff     failed
///     failed, permanent            failed                     failed
///     not attempted                released at now + wait     released (attempt not counted)
///
/// The backoff is the larger of the policy's draw for this attempt and the upstream's
/// `Retry-After`; a release waits for what the outcome asked (the breaker's probe time), if any.
/// Times are wall-clock milliseconds since the Unix epoch, as stored.
public struct JobLife: Sendable, Equatable {
    /// Attempts for jobs that set none, unless the queue says otherwise: the one place this
    /// default lives.
    public static let defaultMaxAttempts: Int64 = 20
    /// Backoff between attempts unless the queue says otherwise: the one place this default
    /// lives.
    public static let defaultRetryPolicy: RetryPolicy = .exponentialJitter(base: .seconds(1), cap: .seconds(300))

    /// Attempts for jobs that set none.
    public var defaultMaxAttempts: Int64 = JobLife.defaultMaxAttempts
    /// Backoff between attempts.
    public var retry: RetryPolicy = JobLife.defaultRetryPolicy

    public init(defaultMaxAttempts: Int64 = JobLife.defaultMaxAttempts, retry: RetryPolicy = JobLife.defaultRetryPolicy)
    {
        self.defaultMaxAttempts = defaultMaxAttempts
        self.retry = retry
    }

    /// The job's next state.
    public enum Decision: Sendable, Equatable {
        /// Done; the result bytes.
        case succeeded(result: [UInt8])
        /// Back to pending, due at `at`; the attempt counted.
        case retry(at: Int64, error: String)
        /// Done for good.
        case failed(error: String)
        /// Back to pending, due at `at`, as if the attempt never happened.
        case released(at: Int64, reason: String)
    }

    /// Decides what follows `outcome` of attempt `attempt` (1-based) of a job allowed
    /// `maxAttempts` (nil: the default) at wall-clock time `now`.
    public func decide(
        _ outcome: CallOutcome, attempt: Int, maxAttempts: Int64?, now: Int64,
        using generator: inout some RandomNumberGenerator
    ) -> Decision {
        switch outcome {
        case .succeeded(let result):
            return .succeeded(result: result)
        case .failed(let failure) where failure.isRetryable:
            guard Int64(attempt) < (maxAttempts ?? defaultMaxAttempts) else {
                return .failed(error: failure.message)
            }
            let delay = max(failure.retryAfter ?? .zero, retry.delay(retry: attempt, using: &generator))
            return .retry(at: now + delay.wholeMilliseconds, error: failure.message)
        case .failed(let failure):
            return .failed(error: failure.message)
        case .notAttempted(let notAttempted):
            return .released(
                at: now + (notAttempted.retryAfter ?? .zero).wholeMilliseconds, reason: notAttempted.reason)
        }
    }
}
