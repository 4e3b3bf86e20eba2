/// What the scheduler needs from a job store: the `schedules` table, which records per
/// schedule how far its slots were handled, and one transaction that turns due slots into jobs.
///
/// Times are the store's clock (the process's on SQLite, the database server's on PostgreSQL),
/// so daemons on hosts with skewed clocks compute the same slots.
protocol ScheduleStore: Sendable {
    /// Records `schedules` (creating the rows of new ones, handled up to now, so a new schedule
    /// starts with its next slot rather than with the past) and returns the store's clock.
    func register(_ schedules: [ScheduleDefinition]) async throws -> Int64

    /// In one transaction: locks the rows of the schedules `names` that no other daemon is
    /// evaluating at this moment (others are left to it), asks `plan` which jobs to write given
    /// the store's clock and each row's `coveredUntil`, inserts them with the enqueue rules
    /// (an idempotency key known in the queue creates nothing) and records how far each
    /// schedule is handled and its newest job. Returns the store's clock and what was written.
    func fireSchedules(
        _ names: [String], plan: @escaping @Sendable (_ now: Int64, _ coveredUntil: [String: Int64]) -> [ScheduleFiring]
    ) async throws -> (now: Int64, fired: [ScheduleFired])
}

/// The columns of a schedule the store shows (`dispatcher schedules`, the dashboard).
struct ScheduleDefinition: Sendable, Equatable {
    var name: String
    var cron: String
    var timezone: String
    var queue: String
    var method: String
}

extension ScheduleDefinition {
    init(_ schedule: Schedule) {
        self.init(
            name: schedule.name, cron: schedule.cron.description, timezone: schedule.zone.identifier,
            queue: schedule.queue, method: schedule.method)
    }
}

/// What one evaluation writes for a schedule.
struct ScheduleFiring: Sendable {
    var name: String
    /// The jobs of its due slots, oldest first, with their slots.
    var jobs: [(slot: Int64, job: NewJob)]
    /// Every slot up to this instant is handled once the jobs are in.
    var coveredUntil: Int64
}

/// What an evaluation wrote for one schedule.
struct ScheduleFired: Sendable, Equatable {
    var name: String
    var slots: [Int64]
    /// The jobs' ids, in the order of `slots`; `created` false where the slot's key was known.
    var results: [EnqueueResult]
}

/// A row of the `schedules` table with its newest job, as `dispatcher schedules` shows it.
struct ScheduleRecord: Sendable, Equatable {
    var definition: ScheduleDefinition
    /// Every slot up to this instant (ms) has been handled.
    var coveredUntil: Int64
    /// The newest slot that became a job, and that job.
    var lastSlot: Int64?
    var lastJobID: Int64?
    /// That job's state as people read it (`retrying` included); nil when it was pruned.
    var lastJobState: String?
    /// When a daemon last registered or evaluated the schedule (ms): an old one is a schedule
    /// no running daemon has any more (removed from the config; its history stays).
    var updatedAt: Int64
}
