/// Which slots of a schedule become jobs at one evaluation: pure, from how far the store says
/// the slots were handled (`coveredUntil`) and the store's clock (`now`).
///
/// | slot `s` with `coveredUntil < s <= now`    | becomes a job                                   |
/// |--------------------------------------------|-------------------------------------------------|
/// | on time: `now - s <= misfireThreshold`     | always                                          |
/// | missed: older                              | `latest`: the newest one; `none`: no; `all`: the newest `catchUpLimit` |
///
/// Afterwards every slot up to `now` counts as handled, so the next evaluation starts there.
struct SlotPlan: Equatable, Sendable {
    /// The slots to enqueue, oldest first.
    var slots: [Int64]
    /// What the store records as handled once the jobs are in.
    var coveredUntil: Int64
    /// Missed slots (older than the misfire threshold) that get no job; nil when there were
    /// too many to count cheaply (more than the search looked at).
    var skippedMissed: Int?

    init(slots: [Int64], coveredUntil: Int64, skippedMissed: Int? = 0) {
        self.slots = slots
        self.coveredUntil = coveredUntil
        self.skippedMissed = skippedMissed
    }

    init(_ schedule: Schedule, coveredUntil covered: Int64, now: Int64) {
        guard now > covered else {
            self.init(slots: [], coveredUntil: covered)
            return
        }
        // Slots after `onTimeAfter` are on time; those in (covered, onTimeAfter] were missed.
        let onTimeAfter = max(covered, now - Schedule.misfireThreshold - 1)
        // At most misfireThreshold / 1s of them: an interval is at least 1s.
        let onTime = Self.slots(of: schedule, after: onTimeAfter, through: now, keepingLast: Int.max).slots
        guard onTimeAfter > covered else {
            self.init(slots: onTime, coveredUntil: now)
            return
        }
        let keep =
            switch schedule.catchUp {
            case .none: 0
            case .latest: 1
            case .all: Schedule.catchUpLimit
            }
        let missed = Self.slots(of: schedule, after: covered, through: onTimeAfter, keepingLast: keep)
        self.init(
            slots: missed.slots + onTime, coveredUntil: now,
            skippedMissed: missed.total.map { $0 - missed.slots.count })
    }

    /// The slots in `(start, end]`, at most the newest `limit` of them, and how many there are in
    /// all (nil when a long range was searched only back from `end`, far enough for `limit`).
    static func slots(
        of schedule: Schedule, after start: Int64, through end: Int64, keepingLast limit: Int
    ) -> (slots: [Int64], total: Int?) {
        guard end > start else { return ([], 0) }
        if case .every(let interval) = schedule.cron.kind {
            // Whole multiples of the interval: counted, not walked.
            let first = CronExpression.floorDivide(start, interval) + 1
            let last = CronExpression.floorDivide(end, interval)
            guard last >= first else { return ([], 0) }
            let total = last - first + 1
            let kept = min(total, Int64(limit))
            return (((last - kept + 1)...last).map { $0 * interval }, Int(clamping: total))
        }
        // A cron expression is walked slot by slot: at most one a minute, and each step costs a
        // search, so a long range is walked only from a window before `end`, widened until it
        // holds `limit` slots or reaches `start`.
        let day: Int64 = 86_400_000
        let windows = [day, 32 * day, 400 * day, 8 * 366 * day]
        for window in windows {
            let from = max(start, end - window)
            var found = [Int64]()
            var total = 0
            var cursor = from
            while let slot = schedule.nextSlot(after: cursor), slot <= end {
                total += 1
                if limit > 0 {
                    if found.count == limit { found.removeFirst() }
                    found.append(slot)
                }
                cursor = slot
            }
            if from == start { return (found, total) }
            // Enough found, or nothing to keep: the count alone is not worth a wider search.
            if found.count == limit || window == windows.last { return (found, nil) }
        }
        return ([], nil)
    }
}
