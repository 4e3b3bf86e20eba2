/// Per-queue counts, as shown by `dispatcher stats`.
struct QueueStats: Equatable, Sendable {
    var queue: String
    /// Jobs per stored state; states with no jobs are absent.
    var counts: [JobState: Int64] = [:]
    /// Pending jobs that have been attempted before.
    var retrying: Int64 = 0
    /// The `run_at` of the longest-waiting due job a worker could take (`JobSQL.claimable`: not
    /// one waiting behind its ordering key), or nil when none is due.
    var oldestDueRunAt: Int64?

    func count(_ state: JobState) -> Int64 { counts[state] ?? 0 }

    /// How long the oldest due pending job has waited, in milliseconds.
    func oldestPendingAge(now: Int64) -> Int64? {
        oldestDueRunAt.map { max(0, now - $0) }
    }
}
