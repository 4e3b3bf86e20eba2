/// What the daemon needs from a job store: leasing jobs, writing their outcomes, keeping leases
/// alive, knowing when to look again, the schedules' slots (`ScheduleStore`) and the queues'
/// in-flight slots (`SlotStore`).
///
/// Times are judged by the store's own clock (the process's on SQLite, the database server's on
/// PostgreSQL), so daemons on hosts with skewed clocks still agree on who holds a job.
/// Implementations must never block Swift's cooperative pool.
protocol DaemonStore: ScheduleStore, SlotStore, StoreFailureClassifying {
    /// Leases up to `limit` due pending jobs of `queue` to `owner`, best first (priority, then
    /// due time, then id), counting an attempt for each. Two claimers never get the same job.
    /// The lease lasts the job's timeout (or `defaultTimeout`) plus `leaseMargin`, in ms. The
    /// batch carries `changes`' mark from just before the look.
    ///
    /// `limits` bound the queue across every daemon on the database, serialized with every other
    /// claim of the queue that has limits: with `rate` it takes at most the calls the shared
    /// `queue_rates` row allows now and spends them. A batch that took nothing because of the
    /// rate says when to look again in `heldBack`.
    func claim(
        queue: String, limit: Int, limits: ClaimLimits, owner: String, defaultTimeout: Int64, leaseMargin: Int64
    ) async throws
        -> ClaimedBatch

    /// Applies a batch of outcomes of `queue`'s jobs at once, each only while its job is still
    /// `running` under `owner`'s lease (others, and jobs of another queue, are counted stale).
    /// Each is written as it is: whether a job is exhausted was decided once, by `JobLife`.
    func complete(
        _ completions: [Completion], queue: String, owner: String
    ) async throws
        -> CompletionCounts

    /// Returns running jobs whose lease expired (their daemon died) to pending; returns how many.
    func reapExpiredLeases() async throws -> Int

    /// Extends the leases of the jobs `ids` that are still running under `owner`; returns how
    /// many. Only the jobs the daemon really holds: a claim whose answer was lost leased jobs
    /// it never received, and their leases must run out.
    func renewLeases(owner: String, ids: [Int64], defaultTimeout: Int64, leaseMargin: Int64) async throws -> Int

    /// How long until the earliest pending job of `queue` is due (zero when one is due now), or
    /// nil when none is pending.
    func nextDue(queue: String) async throws -> Duration?

    /// Jobs of `queue` that are pending or running (by any daemon), from the job counts.
    func unfinishedCount(queue: String) async throws -> Int64

    /// Pending (retrying included) and running jobs of `queue`, for the gauges, from the job
    /// counts: the cost does not grow with the table.
    func pendingAndRunning(queue: String) async throws -> (pending: Int64, running: Int64)

    /// Takes the maintenance lease `name` (such as the pruner's) for `owner` for `ttl`
    /// milliseconds, or renews it when `owner` already holds it; false while another owner's
    /// lease is unexpired. Daemons sharing a database take turns at work one must do at a time.
    func acquireMaintenanceLease(name: String, owner: String, ttl: Int64) async throws -> Bool

    /// Gives up the lease `name` when `owner` holds it, so another daemon need not wait it out.
    func releaseMaintenanceLease(name: String, owner: String) async throws

    /// Queues with at least one job in `state`, read from the job counts (no scan).
    func queues(withJobsIn state: JobState) async throws -> [String]

    /// Deletes up to `limit` jobs of `queue` in the terminal `state` that finished more than
    /// `age` milliseconds ago (by the store's clock), oldest first, in one short transaction;
    /// returns how many. The retention index finds them without reading other rows.
    func prune(queue: String, state: JobState, olderThan age: Int64, limit: Int) async throws -> Int

    /// The file whose identity must not change under the running daemon (SQLite's database
    /// file, watched by `DatabaseFileGuard`); nil for a store without one (PostgreSQL).
    var guardedFile: String? { get }

    /// The daemon's one source of wake-ups for all its feeders.
    var changes: any ChangeNotifier { get }

    /// Runs the store's background work (PostgreSQL: the connection pool and the `LISTEN`
    /// connection) until the task is cancelled. The daemon runs it beside its other tasks.
    func run() async

    /// Releases connections, threads and watchers.
    func close() async
}

extension DaemonStore {
    /// `claim` without fleet-wide limits.
    func claim(
        queue: String, limit: Int, owner: String, defaultTimeout: Int64, leaseMargin: Int64
    ) async throws -> ClaimedBatch {
        try await claim(
            queue: queue, limit: limit, limits: .none, owner: owner, defaultTimeout: defaultTimeout,
            leaseMargin: leaseMargin)
    }
}
