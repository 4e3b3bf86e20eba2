/// The rules of a job's life that every store follows, stated once above the seam. Each store
/// carries them out in its own SQL (so they apply atomically, inside its transactions); the
/// conformance suite checks that every store does.
///
/// Transitions:
///
/// | from      | event                     | to                          | attempts |
/// |-----------|---------------------------|-----------------------------|----------|
/// | pending   | claimed (due)             | running, leased             | +1       |
/// | running   | succeeded                 | succeeded                   |          |
/// | running   | retryable failure, attempts left (`JobLife`) | pending at run_at |        |
/// | running   | permanent failure, or none left | failed                |          |
/// | running   | released (never called)   | pending at run_at           | −1       |
/// | running   | lease expired (reaped)    | pending                     | kept     |
/// | failed, cancelled | `retry`           | pending, due now            | = 0      |
/// | pending   | `cancel`                  | cancelled                   |          |
/// | succeeded, failed, cancelled | `purge` | deleted                    |          |
///
/// Every outcome is applied only while the job is still `running` under the completing daemon's
/// lease; otherwise it is counted stale and changes nothing.
enum JobRules {
    /// What the reaper records on a job whose daemon stopped holding it.
    static let leaseExpiredError = "lease expired: the daemon running it stopped"

    /// An operator command that moves jobs by id, and the states it accepts.
    enum OperatorChange: String, Sendable {
        case retry
        case cancel

        /// The states a job must be in for the change to apply.
        var allowed: Set<JobState> {
            switch self {
            case .retry: [.failed, .cancelled]
            case .cancel: [.pending]
            }
        }
    }

    /// Checks the current state of every id before an all-or-nothing change; `states` maps ids
    /// to their stored state (absent: no such job). Throws the first violation.
    static func check(_ ids: [Int64], states: [Int64: String], for change: OperatorChange) throws {
        for id in ids {
            guard let state = states[id] else { throw DispatcherError("no job with id \(id)") }
            guard let parsed = JobState(rawValue: state), change.allowed.contains(parsed) else {
                let names = change.allowed.map(\.rawValue).sorted().joined(separator: " or ")
                throw DispatcherError("cannot \(change.rawValue) job \(id): it is \(state), not \(names)")
            }
        }
    }

    /// `retry --state`: only failed or cancelled jobs.
    static func checkRetryable(_ state: JobState) throws {
        guard OperatorChange.retry.allowed.contains(state) else {
            throw DispatcherError("only failed or cancelled jobs can be retried, not \(state.rawValue) ones")
        }
    }

    /// `purge`: only terminal states.
    static func checkPurgeable(_ state: JobState) throws {
        guard state.isTerminal else {
            throw DispatcherError("only succeeded, failed or cancelled jobs can be purged, not \(state.rawValue) ones")
        }
    }
}
