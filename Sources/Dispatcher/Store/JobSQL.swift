/// The SQL both dialects share, so a rule written in SQL has one home above the seam: the jobs'
/// columns, the claim order, and what "retrying" means (`Job.isRetrying` in SQL).
enum JobSQL {
    /// Every column of `jobs`, in the order the stores read a `Job` from a row.
    static let columns = """
        id, queue, method, params, idempotency_key, priority, state, attempts, max_attempts, run_at, timeout_ms,
        lease_owner, lease_until, created_at, started_at, finished_at, last_error, result, ordering_key, blocked
        """

    /// The order claims take due jobs in: highest priority, then earliest due, then oldest.
    static let claimOrder = "priority DESC, run_at, id"

    /// A job a claim may take once due: pending, and not waiting behind an earlier job of its
    /// ordering key. The text is the `jobs_pending` index's predicate in both dialects, so the
    /// claim and every query of due jobs can use that index.
    static let claimable = "state = 'pending' AND blocked = FALSE"

    /// A job holds its ordering key until it finishes (every later job with the key waits):
    /// the `jobs_ordering` index's predicate in both dialects. Every write that finishes a job
    /// sets `finished_at` and every write that sends one back clears it; a claim touches
    /// neither, so it leaves the index and the SQLite ordering triggers alone.
    static let holdsOrderingKey = "finished_at IS NULL"

    /// `Job.isRetrying`: pending, and tried before.
    static let isRetrying = "state = 'pending' AND attempts > 0"

    /// The job-count bucket of a row: its state, with retrying jobs counted apart.
    static let bucket = "CASE WHEN \(isRetrying) THEN 'retrying' ELSE state END"

    /// The condition `list --state` filters with (states are literals, never user text).
    static func condition(_ filter: JobStateFilter) -> String {
        switch filter {
        case .state(let state): "state = '\(state.rawValue)'"
        case .retrying: isRetrying
        }
    }
}
