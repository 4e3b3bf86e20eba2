/// How a call ended, as classified by the transport.
public enum CallOutcome: Sendable {
    /// The upstream answered with a result; its raw JSON bytes.
    case succeeded(result: [UInt8])
    /// The call failed; `CallFailure.isRetryable` says whether to try again.
    case failed(CallFailure)
    /// The call was never made (breaker open, or the pool shut down before a worker took the
    /// job): the job should go back to the queue without counting an attempt.
    case notAttempted(NotAttempted)

    /// Why a job was handed back without a call.
    public struct NotAttempted: Sendable, Equatable {
        /// Human-readable reason.
        public var reason: String
        /// The earliest time trying again makes sense (the breaker's next probe), in the
        /// continuous clock's terms relative to when the outcome was made.
        public var retryAfter: Duration?

        public init(reason: String, retryAfter: Duration? = nil) {
            self.reason = reason
            self.retryAfter = retryAfter
        }
    }
}

/// A classified call failure.
public struct CallFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Whether the failure is worth retrying (connect/reset/timeout, 408/429/5xx, JSON-RPC
    /// server errors) or permanent (other 4xx, invalid request/params).
    public var isRetryable: Bool
    /// One line saying what happened, stored as the job's `last_error`.
    public var message: String
    /// From the upstream's `Retry-After` header, when it sent one.
    public var retryAfter: Duration?
    /// Whether the failure says something about the upstream's health (counts for the circuit
    /// breaker). A 400 for one bad job does not; a refused connection does.
    public var countsForBreaker: Bool

    public init(isRetryable: Bool, message: String, retryAfter: Duration? = nil, countsForBreaker: Bool? = nil) {
        self.isRetryable = isRetryable
        self.message = message
        self.retryAfter = retryAfter
        self.countsForBreaker = countsForBreaker ?? isRetryable
    }

    /// A failure worth retrying.
    public static func retryable(_ message: String, retryAfter: Duration? = nil) -> CallFailure {
        CallFailure(isRetryable: true, message: message, retryAfter: retryAfter)
    }

    /// A failure that retrying cannot fix.
    public static func permanent(_ message: String) -> CallFailure {
        CallFailure(isRetryable: false, message: message)
    }

    public var description: String { message }
}

/// A finished job: what the pool hands to its outcome handler.
public struct JobOutcome: Sendable {
    /// The job as it was taken from the channel.
    public var job: RPCJob
    /// What happened.
    public var outcome: CallOutcome
    /// How long the call took (zero when not attempted).
    public var latency: Duration

    public init(job: RPCJob, outcome: CallOutcome, latency: Duration) {
        self.job = job
        self.outcome = outcome
        self.latency = latency
    }
}
