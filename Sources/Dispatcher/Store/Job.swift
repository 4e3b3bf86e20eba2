/// The life-cycle state of a job, as stored in the `state` column.
enum JobState: String, CaseIterable, Sendable {
    /// Waiting to run; `run_at` may be in the future. With attempts > 0 it is shown as *retrying*.
    case pending
    /// Leased to a worker of a running daemon.
    case running
    /// The upstream returned a result.
    case succeeded
    /// Terminal: attempts exhausted or a permanent error (the dead set).
    case failed
    /// Cancelled by an operator before it ran.
    case cancelled

    /// States a job never leaves on its own, which `purge` may delete.
    var isTerminal: Bool { self == .succeeded || self == .failed || self == .cancelled }

    /// Pending, and tried before: the rule of *retrying* (in SQL, `JobSQL.isRetrying`).
    static func isRetrying(stored state: String, attempts: Int64) -> Bool {
        state == JobState.pending.rawValue && attempts > 0
    }

    /// The state shown to people for a stored `state` column: `retrying` where `isRetrying`.
    static func displayName(stored state: String, attempts: Int64) -> String {
        isRetrying(stored: state, attempts: attempts) ? "retrying" : state
    }
}

/// A state filter for `list`: any stored state, or `retrying` (pending with attempts > 0).
enum JobStateFilter: Equatable, Sendable {
    case state(JobState)
    case retrying

    static let validNames = JobState.allCases.map(\.rawValue) + ["retrying"]

    init(parsing name: String) throws {
        if name == "retrying" {
            self = .retrying
        } else if let state = JobState(rawValue: name) {
            self = .state(state)
        } else {
            throw DispatcherError(
                "unknown state '\(name)'; expected one of: \(Self.validNames.joined(separator: ", "))")
        }
    }
}

/// One row of the `jobs` table.
struct Job: Equatable, Sendable {
    var id: Int64
    var queue: String
    var method: String
    /// Parameters as the JSON text that was enqueued, or nil when the call takes none.
    var params: String?
    var idempotencyKey: String?
    var priority: Int64
    var state: JobState
    var attempts: Int64
    /// Per-job limit, or nil for the queue's default.
    var maxAttempts: Int64?
    var runAt: Int64
    /// Per-job call timeout, or nil for the queue's default.
    var timeoutMilliseconds: Int64?
    var leaseOwner: String?
    var leaseUntil: Int64?
    var createdAt: Int64
    var startedAt: Int64?
    var finishedAt: Int64?
    var lastError: String?
    /// The upstream's `result` as JSON text, for succeeded jobs.
    var result: String?
    /// Jobs of a queue with the same ordering key run one at a time, in id order.
    var orderingKey: String? = nil
    /// The `blocked` column: set while the job waits behind an earlier unfinished job of its
    /// ordering key (and left as it was once the job is cancelled while waiting).
    var blocked = false

    /// Pending behind an earlier job of its ordering key that has not finished yet.
    var waitsForOrderingKey: Bool { blocked && state == .pending }

    /// Pending, and tried before: shown as *retrying*.
    var isRetrying: Bool { JobState.isRetrying(stored: state.rawValue, attempts: attempts) }

    /// The ordering key as shown to people, saying whether the job waits behind it.
    var orderingKeyDisplay: String? {
        orderingKey.map { waitsForOrderingKey ? "\($0) (waits for an earlier job)" : $0 }
    }

    /// The state shown to people: a pending job that has been tried before is *retrying*.
    var displayState: String {
        JobState.displayName(stored: state.rawValue, attempts: attempts)
    }
}

/// A job to insert, validated and ready to bind.
struct NewJob: Sendable {
    var queue: String = "default"
    var method: String
    var params: String?
    var idempotencyKey: String?
    var priority: Int64 = 0
    var runAt: Int64
    var maxAttempts: Int64?
    var timeoutMilliseconds: Int64?
    var orderingKey: String?
}

extension NewJob {
    /// How enqueue writes a batch, in order: a job with an idempotency key alone (an insert
    /// that does nothing on a known key, then a lookup of the existing id), and runs of jobs
    /// without one together, at most `limit` a run.
    enum Run: Equatable {
        case keyed(Int)
        case unkeyed(Range<Int>)
    }

    static func runs(_ jobs: [NewJob], limit: Int = .max) -> [Run] {
        var runs = [Run]()
        var index = 0
        while index < jobs.count {
            if jobs[index].idempotencyKey != nil {
                runs.append(.keyed(index))
                index += 1
                continue
            }
            var end = index
            while end < jobs.count, end - index < limit, jobs[end].idempotencyKey == nil { end += 1 }
            runs.append(.unkeyed(index..<end))
            index = end
        }
        return runs
    }

    /// The error when a key's insert did nothing and its lookup found no job either (deleted in
    /// between by another connection).
    static func vanished(_ job: NewJob) -> DispatcherError {
        DispatcherError("job with key '\(job.idempotencyKey ?? "")' vanished during enqueue")
    }
}

/// What enqueuing one job did.
struct EnqueueResult: Equatable, Sendable {
    var id: Int64
    /// False when the idempotency key was already known and the existing job's id is returned.
    var created: Bool
}
