import Testing

@testable import Dispatcher

/// The scheduler's store contract (`ScheduleStore`) on every store: two daemons' stores
/// evaluating one schedule at once write each slot once, and a slot's key refuses a second job
/// even from an evaluation that ignores the row.
@Suite("schedule store conformance", .timeLimit(.minutes(2)))
struct ScheduleConformanceTests {
    static let definition = ScheduleDefinition(
        name: "tick", cron: "@every 1s", timezone: "UTC", queue: "default", method: "tick.run")

    static func schedule() throws -> Schedule {
        Schedule(
            name: "tick", cron: try CronExpression(parsing: "@every 1s"), zone: try ScheduleZone(), method: "tick.run")
    }

    /// What the scheduler hands the store: the real slot plan.
    static func plan(_ schedule: Schedule) -> @Sendable (Int64, [String: Int64]) -> [ScheduleFiring] {
        { now, covered in
            covered.map { name, until in
                let plan = SlotPlan(schedule, coveredUntil: until, now: now)
                return ScheduleFiring(
                    name: name, jobs: plan.slots.map { ($0, schedule.job(slot: $0)) }, coveredUntil: plan.coveredUntil)
            }
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func concurrentEvaluationsWriteEachSlotOnce(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let schedule = try Self.schedule()
        try await database.withStore { first in
            try await database.withStore { second in
                let registered = try await first.register([Self.definition])
                // A second daemon registering the same schedule leaves its progress alone.
                _ = try await second.register([Self.definition])
                try await Task.sleep(for: .milliseconds(2200))
                // Eight evaluations at once, four through each store.
                let fired = try await withThrowingTaskGroup(of: (Int64, [ScheduleFired]).self) { group in
                    for index in 0..<8 {
                        let store: any ScheduleStore = index % 2 == 0 ? first : second
                        group.addTask { try await store.fireSchedules(["tick"], plan: Self.plan(schedule)) }
                    }
                    return try await group.reduce(into: [(Int64, [ScheduleFired])]()) { $0.append($1) }
                }
                let latest = fired.map(\.0).max() ?? 0
                let created = fired.flatMap(\.1).flatMap { entry in
                    zip(entry.slots, entry.results).filter { $0.1.created }.map(\.0)
                }
                // Every slot from the registration to the last evaluation, each once.
                let expected = SlotPlan.slots(of: schedule, after: registered, through: latest, keepingLast: .max).slots
                #expect(created.sorted() == expected, "registered \(registered), last look \(latest)")
                #expect(expected.count >= 2)
                let jobs = try await first.list(state: nil, queue: nil, limit: 100)
                #expect(jobs.count == expected.count)
                #expect(Set(jobs.compactMap(\.idempotencyKey)) == Set(expected.map(schedule.idempotencyKey(slot:))))

                // The row says how far the slots are handled, and which job came last.
                let record = try #require(try await first.schedules().first)
                #expect(record.definition == Self.definition)
                #expect(record.lastSlot == expected.last && record.coveredUntil >= expected.last ?? 0)
                #expect(record.lastJobID == jobs.max(by: { $0.runAt < $1.runAt })?.id)
                #expect(record.lastJobState == "pending")

                // An evaluation that ignores the row and writes a known slot again creates nothing.
                let slot = try #require(expected.first)
                let again = try await second.fireSchedules(["tick"]) { _, covered in
                    covered.keys.map {
                        ScheduleFiring(name: $0, jobs: [(slot, schedule.job(slot: slot))], coveredUntil: slot)
                    }
                }
                #expect(again.fired.first?.results.map(\.created) == [false])
                #expect(try await first.list(state: nil, queue: nil, limit: 100).count == expected.count)
                // A schedule the store has not registered is left alone.
                let unknown = try await first.fireSchedules(["nobody"], plan: Self.plan(schedule))
                #expect(unknown.fired.isEmpty)
            }
        }
    }
}
