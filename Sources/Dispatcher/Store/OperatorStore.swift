/// What the operator commands need from a job store: enqueue, inspection, and the all-or-nothing
/// changes `retry`, `cancel` and `purge`. Each write is one transaction: a failure changes nothing.
protocol OperatorStore: Sendable {
    /// Inserts `jobs` in one transaction and returns, in order, each job's id and whether it was
    /// created (false: its idempotency key was already known in its queue).
    func enqueue(_ jobs: [NewJob], now: Int64) async throws -> [EnqueueResult]

    /// The job with `id`, or nil.
    func job(id: Int64) async throws -> Job?

    /// Jobs, oldest first, optionally filtered by state and queue.
    func list(state: JobStateFilter?, queue: String?, limit: Int) async throws -> [Job]

    /// Per-queue counts and the last minute's activity, read in one snapshot.
    func statistics(now: Int64) async throws -> StoreStatistics

    /// The most recently failed jobs, newest first.
    func recentFailures(limit: Int) async throws -> [RecentFailure]

    /// The running daemons' rows of `queue_slots` (unexpired by the store's clock), by queue
    /// and owner: what `top` shows of the fleet's concurrency.
    func queueSlots() async throws -> [QueueSlotRow]

    /// Moves failed or cancelled jobs back to pending, due now, attempts reset. All or nothing:
    /// when any id is unknown or in another state, nothing changes.
    func retry(ids: [Int64], now: Int64) async throws -> Int

    /// Moves every job in `state` (failed or cancelled), optionally of one queue, back to pending.
    func retry(state: JobState, queue: String?, now: Int64) async throws -> Int

    /// Cancels pending jobs. All or nothing, as `retry(ids:)`.
    func cancel(ids: [Int64], now: Int64) async throws -> Int

    /// Deletes jobs in a terminal `state` that finished before `before`; returns how many.
    func purge(state: JobState, finishedBefore before: Int64) async throws -> Int

    /// Failed jobs, newest first, optionally of one queue (the dashboard's failures page).
    func failedJobs(queue: String?, offset: Int, limit: Int) async throws -> [Job]

    /// Jobs finished (succeeded or failed) per queue in each of the `minutes` whole minutes
    /// ending at `now`, oldest first (the dashboard's throughput chart).
    func finishedPerMinute(now: Int64, minutes: Int) async throws -> [String: [Int64]]

    /// Pauses (no daemon claims the queue's jobs) or resumes `queue`; false when it already was.
    func setPaused(_ paused: Bool, queue: String, now: Int64) async throws -> Bool

    /// Every schedule any daemon registered, by name, with its newest job.
    func schedules() async throws -> [ScheduleRecord]

    /// Releases the connection.
    func close() async
}

/// What `stats` and `top` show, read in one snapshot.
struct StoreStatistics: Sendable, Equatable {
    var queues: [QueueStats]
    var activity: [String: QueueActivity]
    /// Queues no daemon claims from (`dispatcher pause`).
    var paused: Set<String> = []
}
