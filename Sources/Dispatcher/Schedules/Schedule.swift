/// A periodic job: which call to enqueue (`queue`, `method`, `params`, …) at every slot of
/// `cron` in `zone` (the config file's `schedules`, README "Scheduled jobs").
///
/// Each slot becomes at most one job because the job carries the idempotency key
/// `schedule:NAME:<slot, RFC 3339 UTC>`, which the enqueue rules already keep unique per queue:
/// any number of daemons, or one restarted, can try to enqueue a slot and only the first
/// creates a job. No daemon leads; the store's `schedules` row says how far the slots were
/// handled and serialises the daemons that evaluate one schedule at once.
struct Schedule: Sendable {
    /// What to do with slots that passed while no daemon ran the schedule.
    enum CatchUp: String, Sendable, CaseIterable {
        /// One job, for the latest missed slot.
        case latest
        /// No job: missed slots are skipped.
        case none
        /// A job for every missed slot, at most `Schedule.catchUpLimit` (the latest ones).
        case all
    }

    /// Letters, digits, `.`, `_` and `-`, at most `maximumNameLength` bytes: the name is part
    /// of every job's idempotency key and of log lines.
    var name: String
    var cron: CronExpression
    var zone: ScheduleZone
    var queue: String = "default"
    var method: String
    /// JSON text of an object or array, or nil for a call without params.
    var params: String?
    var priority: Int64 = 0
    /// Nil: the queue's default.
    var maxAttempts: Int64?
    /// Nil: the queue's default.
    var timeoutMilliseconds: Int64?
    var catchUp: CatchUp = .latest

    static let maximumNameLength = 200

    /// A slot is on time while it is at most this late (Quartz's misfire threshold): a daemon
    /// that was running enqueues it even when it ran slow (a stalled machine, a store outage
    /// shorter than this). Older slots were missed by every daemon and follow `catchUp`.
    static let misfireThreshold: Int64 = 60_000

    /// Most jobs `catch_up: "all"` enqueues at once; older missed slots are skipped and logged.
    static let catchUpLimit = 1000

    /// The first slot strictly after `instant` (ms since the epoch), or nil when there is none.
    func nextSlot(after instant: Int64) -> Int64? {
        zone.nextSlot(of: cron, after: instant)
    }

    /// The idempotency key of the job for `slot`.
    func idempotencyKey(slot: Int64) -> String {
        "schedule:\(name):\(Timestamp.format(slot))"
    }

    /// The job for `slot`, due at the slot.
    func job(slot: Int64) -> NewJob {
        NewJob(
            queue: queue, method: method, params: params, idempotencyKey: idempotencyKey(slot: slot),
            priority: priority,
            runAt: slot, maxAttempts: maxAttempts, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Checks a schedule's name.
    static func validateName(_ name: String) throws -> String {
        guard !name.isEmpty else { throw DispatcherError("name must not be empty") }
        guard name.utf8.count <= maximumNameLength else {
            throw DispatcherError("name is longer than \(maximumNameLength) bytes")
        }
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard allowed else { throw DispatcherError("name may hold only letters, digits, '.', '_' and '-'") }
        return name
    }
}
