/// A job leased to this daemon by `claim`.
struct ClaimedJob: Sendable {
    var id: Int64
    var method: String
    var params: [UInt8]?
    var idempotencyKey: String?
    var priority: Int64
    /// This attempt's number (attempts are counted when claimed).
    var attempt: Int
    var timeoutMilliseconds: Int64
    /// When the job became due, for the enqueue-to-start delay.
    var runAt: Int64
    /// The job's own attempt limit, or nil for the queue's default.
    var maxAttempts: Int64? = nil
}

/// What one claim leased, and the change notifier's mark taken just before it looked: a feeder
/// that got nothing waits for a change after this mark, so a commit between the claim and the
/// wait still wakes it, and the look and the mark cost one trip to the store.
struct ClaimedBatch: Sendable {
    var jobs: [ClaimedJob]
    var mark: ChangeMark
    /// Why the claim took nothing though due jobs may wait: a fleet-wide limit held it back.
    var heldBack: HeldBack?

    /// The fleet-wide limit a claim was held back by.
    enum HeldBack: Sendable, Equatable {
        /// The queue's shared rate has no token until this long from now.
        case rate(nextIn: Duration)
    }
}

/// What the completer writes for one finished job.
enum Completion: Sendable {
    /// The call returned a result (stored when it fits the cap).
    case succeeded(id: Int64, result: [UInt8]?, note: String?)
    /// The call failed and is tried again at `runAt` (`JobLife` found attempts left).
    case retry(id: Int64, error: String, runAt: Int64)
    /// The call failed for good.
    case failed(id: Int64, error: String)
    /// The call was never made: back to pending at `runAt`, the attempt not counted.
    case released(id: Int64, runAt: Int64, reason: String?)

    /// The outcome's name, as the PostgreSQL batch carries it.
    enum Kind: String, Sendable {
        case succeeded, retry, failed, released
    }

    var kind: Kind {
        switch self {
        case .succeeded: .succeeded
        case .retry: .retry
        case .failed: .failed
        case .released: .released
        }
    }

    var id: Int64 {
        switch self {
        case .succeeded(let id, _, _), .retry(let id, _, _), .failed(let id, _), .released(let id, _, _): id
        }
    }
}

/// How many completions of each kind a batch applied (guards make late ones no-ops).
struct CompletionCounts: Sendable, Equatable {
    var succeeded = 0
    var retried = 0
    var failed = 0
    var released = 0
    /// Completions whose job was no longer leased to this daemon (reaped or finished by an
    /// operator meanwhile): nothing was written for them.
    var stale = 0
}
