import CoreMetrics
import Logging

/// Enqueues the jobs of the daemon's schedules at their slots (see `Schedule` and `SlotPlan`).
///
/// No daemon leads: each one sleeps until its schedules' next slot by the store's clock, then
/// evaluates the due schedules in one store transaction (`ScheduleStore.fireSchedules`). The
/// first daemon there inserts the slot's job and moves the schedule's `covered_until` past it;
/// the others find nothing left to do, and the job's idempotency key would refuse a second job
/// even if they did. At start every schedule is evaluated once, so slots missed while no daemon
/// ran are caught up (`catch_up`).
struct Scheduler: Sendable {
    /// The longest sleep between two looks: a schedule whose next slot is further away is
    /// looked at again after this, so a stepped clock on the database host costs at most this.
    static let longestSleep: Int64 = 60_000
    /// The pause before trying again after the store failed.
    static let retryDelay: Duration = .seconds(1)
    /// Milliseconds slept past a slot before evaluating it (see `run`).
    static let wakeMargin: Int64 = 2

    let schedules: [Schedule]
    let database: any ScheduleStore
    let clock: DaemonClock
    let logger: Logger
    /// Where failures are reported (one line per outage for the whole daemon); nil in tests.
    let storeHealth: StoreHealth?
    private let enqueued: [String: Counter]
    /// What to write for the schedules the store locked for an evaluation: built once, with the
    /// schedules by name, and handed to every evaluation.
    private let plan: @Sendable (Int64, [String: Int64]) -> [ScheduleFiring]

    init(
        schedules: [Schedule], database: any ScheduleStore, clock: DaemonClock, logger: Logger,
        storeHealth: StoreHealth? = nil
    ) {
        self.schedules = schedules
        self.database = database
        self.clock = clock
        self.logger = logger
        self.storeHealth = storeHealth
        enqueued = Dictionary(
            uniqueKeysWithValues: schedules.map {
                ($0.name, Counter(label: "dispatcher_schedule_jobs_total", dimensions: [("schedule", $0.name)]))
            })
        plan = Self.planner(schedules, logger: logger)
    }

    /// Runs until cancelled.
    func run() async {
        guard !schedules.isEmpty else { return }
        // The store's clock minus this process's, refreshed by every evaluation: slots are the
        // store's instants, sleeps are this process's.
        var skew: Int64 = 0
        while !Task.isCancelled {
            do {
                skew = try await database.register(schedules.map(ScheduleDefinition.init)) - clock.wallMilliseconds()
                break
            } catch {
                if Task.isCancelled { return }
                report(error)
                try? await clock.sleep(Self.retryDelay)
            }
        }
        var due = schedules.map(\.name)
        while !Task.isCancelled {
            let storeNow: Int64
            if due.isEmpty {
                storeNow = clock.wallMilliseconds() + skew
            } else {
                let began = storeHealth?.begin()
                do {
                    let (now, fired) = try await database.fireSchedules(due, plan: plan)
                    skew = now - clock.wallMilliseconds()
                    storeNow = now
                    record(fired)
                    storeHealth?.succeeded(.fireSchedules, wrote: !fired.isEmpty)
                } catch {
                    // Cancelled mid-transaction at shutdown: not an outage.
                    if Task.isCancelled { return }
                    report(error, began: began)
                    try? await clock.sleep(Self.retryDelay)
                    continue
                }
            }
            let next = Self.nextWake(schedules, after: storeNow)
            let wait = next.at - storeNow
            due = wait <= Self.longestSleep ? next.due : []
            // A little past the slot: the skew is known to a round trip, and waking before the
            // slot by the store's clock costs one more evaluation.
            try? await clock.sleep(.milliseconds(max(0, min(wait, Self.longestSleep)) + Self.wakeMargin))
        }
    }

    /// The earliest next slot of any schedule after `now`, and the schedules due then.
    static func nextWake(_ schedules: [Schedule], after now: Int64) -> (at: Int64, due: [String]) {
        var earliest = Int64.max
        var due = [String]()
        for schedule in schedules {
            guard let slot = schedule.nextSlot(after: now) else { continue }
            if slot < earliest {
                earliest = slot
                due = [schedule.name]
            } else if slot == earliest {
                due.append(schedule.name)
            }
        }
        return (earliest == .max ? now + longestSleep : earliest, due)
    }

    /// The slot plans of the schedules the store locked, as jobs to write.
    private static func planner(
        _ schedules: [Schedule], logger: Logger
    ) -> @Sendable (Int64, [String: Int64]) -> [ScheduleFiring] {
        let byName = Dictionary(uniqueKeysWithValues: schedules.map { ($0.name, $0) })
        return { now, covered in
            covered.keys.sorted().compactMap { name -> ScheduleFiring? in
                guard let schedule = byName[name], let until = covered[name] else { return nil }
                let plan = SlotPlan(schedule, coveredUntil: until, now: now)
                if plan.skippedMissed != 0 {
                    logger.warning(
                        "missed slots skipped: no daemon ran the schedule then",
                        metadata: [
                            "schedule": "\(name)", "catch_up": "\(schedule.catchUp.rawValue)",
                            "since": "\(Timestamp.format(until))",
                            "skipped": "\(plan.skippedMissed.map(String.init) ?? "uncounted (a long gap)")",
                        ])
                }
                return ScheduleFiring(
                    name: name, jobs: plan.slots.map { ($0, schedule.job(slot: $0)) }, coveredUntil: plan.coveredUntil)
            }
        }
    }

    private func record(_ fired: [ScheduleFired]) {
        for entry in fired where !entry.slots.isEmpty {
            let created = entry.results.filter(\.created).count
            enqueued[entry.name]?.increment(by: created)
            logger.debug(
                "scheduled jobs enqueued",
                metadata: [
                    "schedule": "\(entry.name)", "slots": "\(entry.slots.map(Timestamp.format))",
                    "ids": "\(entry.results.map(\.id))", "created": "\(created)",
                ])
        }
    }

    private func report(_ error: any Error, began: ContinuousClock.Instant? = nil) {
        if let storeHealth {
            storeHealth.failed(.fireSchedules, error: error, began: began)
        } else {
            logger.warning("enqueueing scheduled jobs failed", metadata: ["error": "\(error)"])
        }
    }
}
