/// What the dashboard reads and changes, whatever store holds the jobs.
///
/// The admin listener runs inside the daemon, so these calls share the process with the hot
/// path; implementations use their own connection (never the daemon's claim connection) and
/// keep blocking work off Swift's cooperative pool.
protocol DashboardStore: Sendable {
    /// Counts, recent activity, the last hour's throughput per minute, and paused queues.
    func overview(now: Int64) async throws -> DashboardOverview
    /// Failed jobs, newest first.
    func failedJobs(queue: String?, offset: Int, limit: Int) async throws -> [Job]
    /// One job, or nil.
    func job(id: Int64) async throws -> Job?
    /// Failed or cancelled → pending, due now; throws `DispatcherError` when the job is in another state.
    func retry(id: Int64, now: Int64) async throws
    /// Every failed job of `queue` → pending; returns how many.
    func retryFailed(queue: String, now: Int64) async throws -> Int
    /// Pending → cancelled; throws `DispatcherError` when the job is in another state.
    func cancel(id: Int64, now: Int64) async throws
    /// Stops (true) or resumes (false) claiming of `queue` by every daemon.
    func setPaused(_ paused: Bool, queue: String, now: Int64) async throws
}

/// The figures of the overview page, read in one snapshot.
struct DashboardOverview: Sendable {
    var report: StatsReport
    /// Per queue, jobs finished (succeeded or failed) in each of the last 60 minutes, oldest first.
    var lastHour: [String: [Int64]]
    /// Queues no daemon claims from.
    var paused: Set<String>
}
