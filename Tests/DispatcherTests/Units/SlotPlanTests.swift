import Testing

@testable import Dispatcher

/// Which slots become jobs at one evaluation (`SlotPlan`), table by table, and when the
/// scheduler wakes next.
@Suite struct SlotPlanTests {
    static func schedule(_ cron: String, _ catchUp: Schedule.CatchUp = .latest, zone: String = "UTC") throws -> Schedule
    {
        var schedule = Schedule(
            name: "s", cron: try CronExpression(parsing: cron), zone: try ScheduleZone(identifier: zone), method: "m")
        schedule.catchUp = catchUp
        return schedule
    }

    static let base: Int64 = 1_796_000_400_000  // a whole hour

    @Test func onTimeSlotsAllBecomeJobsWhateverTheCatchUp() throws {
        for mode in Schedule.CatchUp.allCases {
            let plan = SlotPlan(try Self.schedule("@every 1s", mode), coveredUntil: Self.base, now: Self.base + 3500)
            #expect(plan.slots == [Self.base + 1000, Self.base + 2000, Self.base + 3000], "\(mode)")
            #expect(plan.coveredUntil == Self.base + 3500)
            #expect(plan.skippedMissed == 0)
        }
        // Nothing due: the mark stays where it is.
        let early = SlotPlan(try Self.schedule("@every 1s"), coveredUntil: Self.base + 5000, now: Self.base + 4000)
        #expect(early.slots.isEmpty && early.coveredUntil == Self.base + 5000)
        // A slot exactly now is due; one exactly at the mark was handled.
        let exact = SlotPlan(try Self.schedule("@every 1s"), coveredUntil: Self.base, now: Self.base + 1000)
        #expect(exact.slots == [Self.base + 1000])
    }

    @Test(arguments: [
        (Schedule.CatchUp.none, [Int64](), 9 as Int?),
        (.latest, [base + 9 * 60_000], 8),
        (.all, (1...9).map { base + Int64($0) * 60_000 }, 0),
    ])
    func missedSlotsFollowTheCatchUp(mode: Schedule.CatchUp, missed: [Int64], skipped: Int?) throws {
        // Every minute, every daemon down for ten minutes and a half: the slots older than the
        // misfire threshold (60 s) are missed; the one 30 s ago is on time.
        let now = Self.base + 10 * 60_000 + 30_000
        let plan = SlotPlan(try Self.schedule("* * * * *", mode), coveredUntil: Self.base, now: now)
        #expect(plan.slots == missed + [Self.base + 10 * 60_000])
        #expect(plan.skippedMissed == skipped)
        #expect(plan.coveredUntil == now)
    }

    @Test func catchingUpEverythingIsCappedAtTheNewestThousand() throws {
        // Two hours of `@every 1s`: 61 slots on time (now - 60 s through now), 7,139 missed.
        let now = Self.base + 7_200_000
        let plan = SlotPlan(try Self.schedule("@every 1s", .all), coveredUntil: Self.base, now: now)
        #expect(plan.slots.count == Schedule.catchUpLimit + 61)
        #expect(plan.skippedMissed == 7_139 - Schedule.catchUpLimit)
        #expect(plan.slots.first == now - 60_000 - 1000 * Int64(Schedule.catchUpLimit))
        #expect(plan.slots.last == now)
        #expect(zip(plan.slots, plan.slots.dropFirst()).allSatisfy { $1 - $0 == 1000 })
    }

    @Test func aLongGapOfACronScheduleIsSearchedBackFromNow() throws {
        // Hourly, down for three years: the newest missed slot, found without walking 26,000.
        let now = Self.base + 3 * 365 * 86_400_000 + 30 * 60_000
        let plan = SlotPlan(try Self.schedule("0 * * * *", .latest), coveredUntil: Self.base, now: now)
        let newestHour = now - 30 * 60_000
        #expect(plan.slots == [newestHour])
        #expect(plan.skippedMissed == nil, "too many to count cheaply")
        let all = SlotPlan(try Self.schedule("0 * * * *", .all), coveredUntil: Self.base, now: now)
        #expect(all.slots.count == Schedule.catchUpLimit)
        #expect(all.slots.last == newestHour)
        // A sparse expression widens the search until it finds its slot.
        let leap = SlotPlan(try Self.schedule("0 12 29 2 *", .latest), coveredUntil: 0, now: Self.base)
        #expect(leap.slots.map(Timestamp.format) == ["2024-02-29T12:00:00.000Z"])
    }

    @Test func dstRulesHoldForCatchUpToo() throws {
        // Berlin, 02:30 daily, down from 2026-03-27 to 2026-03-31: 28 Mar and 30 Mar fire,
        // 29 Mar has no 02:30.
        let covered = try Timestamp.parse("2026-03-27T12:00:00Z")
        let now = try Timestamp.parse("2026-03-31T00:00:00Z")
        let plan = SlotPlan(
            try Self.schedule("30 2 * * *", .all, zone: "Europe/Berlin"), coveredUntil: covered, now: now)
        #expect(plan.slots.map(Timestamp.format) == ["2026-03-28T01:30:00.000Z", "2026-03-30T00:30:00.000Z"])
    }

    @Test func theSchedulerWakesForTheEarliestSlotWithEverySchedulDueThen() throws {
        var a = try Self.schedule("@every 10s")
        a.name = "a"
        var b = try Self.schedule("@every 5s")
        b.name = "b"
        var c = try Self.schedule("@every 10s")
        c.name = "c"
        let wake = Scheduler.nextWake([a, b, c], after: Self.base + 1)
        #expect(wake.at == Self.base + 5000 && wake.due == ["b"])
        let both = Scheduler.nextWake([a, b, c], after: Self.base + 6000)
        #expect(both.at == Self.base + 10_000 && both.due == ["a", "b", "c"])
        let never = Scheduler.nextWake([try Self.schedule("0 0 30 2 *")], after: Self.base)
        #expect(never.due.isEmpty && never.at == Self.base + Scheduler.longestSleep)
    }

    @Test func eachSlotHasItsOwnKey() throws {
        var schedule = try Self.schedule("@every 1s")
        schedule.name = "nightly-report"
        #expect(schedule.idempotencyKey(slot: Self.base) == "schedule:nightly-report:2026-11-30T01:00:00.000Z")
        let job = schedule.job(slot: Self.base)
        #expect(job.runAt == Self.base && job.idempotencyKey == schedule.idempotencyKey(slot: Self.base))
    }
}
