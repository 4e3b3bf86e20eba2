/// The scheduler's SQL (see `ScheduleStore`). A write transaction holds SQLite's one write
/// lock, so daemons on one file evaluate a schedule one after the other, each seeing the last
/// one's `covered_until`. Neither `covered_until` nor the last slot ever moves back.
extension SQLiteJobStore {
    func register(_ schedules: [ScheduleDefinition], now: Int64) throws {
        try connection.writeTransaction {
            let upsert = try connection.statement(
                """
                INSERT INTO schedules (name, cron, timezone, queue, method, covered_until, updated_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone,
                    queue = excluded.queue, method = excluded.method, updated_at = excluded.updated_at
                """)
            for schedule in schedules {
                upsert.bind(schedule.name, at: 1)
                upsert.bind(schedule.cron, at: 2)
                upsert.bind(schedule.timezone, at: 3)
                upsert.bind(schedule.queue, at: 4)
                upsert.bind(schedule.method, at: 5)
                upsert.bind(now, at: 6)
                try upsert.run()
                _ = upsert.reset()
            }
        }
    }

    func fireSchedules(
        _ names: [String], now: Int64, plan: (_ now: Int64, _ coveredUntil: [String: Int64]) -> [ScheduleFiring]
    ) throws -> [ScheduleFired] {
        try connection.writeTransaction {
            let read = try connection.statement("SELECT covered_until FROM schedules WHERE name = ?")
            var covered = [String: Int64]()
            for name in names {
                read.bind(name, at: 1)
                if let value = try read.singleRow({ $0.int64(0) }) { covered[name] = value }
            }
            let update = try connection.statement(
                """
                UPDATE schedules SET covered_until = max(covered_until, ?2), updated_at = ?3,
                    last_job_id = CASE WHEN ?4 > coalesce(last_slot, -1) THEN ?5 ELSE last_job_id END,
                    last_slot = CASE WHEN ?4 > coalesce(last_slot, -1) THEN ?4 ELSE last_slot END
                WHERE name = ?1
                """)
            var fired = [ScheduleFired]()
            for firing in plan(now, covered) where covered[firing.name] != nil {
                let results = try insert(firing.jobs.map(\.job), now: now)
                update.bind(firing.name, at: 1)
                update.bind(firing.coveredUntil, at: 2)
                update.bind(now, at: 3)
                update.bind(firing.jobs.last?.slot, at: 4)
                update.bind(results.last?.id, at: 5)
                try update.run()
                _ = update.reset()
                fired.append(ScheduleFired(name: firing.name, slots: firing.jobs.map(\.slot), results: results))
            }
            return fired
        }
    }

    func schedules() throws -> [ScheduleRecord] {
        let statement = try connection.statement(
            """
            SELECT s.name, s.cron, s.timezone, s.queue, s.method, s.covered_until, s.last_slot, s.last_job_id,
                s.updated_at, j.state, j.attempts
            FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job_id
            ORDER BY s.name
            """)
        var records = [ScheduleRecord]()
        while try statement.step() {
            records.append(
                ScheduleRecord(
                    definition: ScheduleDefinition(
                        name: statement.string(0) ?? "", cron: statement.string(1) ?? "",
                        timezone: statement.string(2) ?? "", queue: statement.string(3) ?? "",
                        method: statement.string(4) ?? ""),
                    coveredUntil: statement.int64(5), lastSlot: statement.optionalInt64(6),
                    lastJobID: statement.optionalInt64(7),
                    lastJobState: statement.string(9).map {
                        JobState.displayName(stored: $0, attempts: statement.int64(10))
                    },
                    updatedAt: statement.int64(8)))
        }
        return records
    }
}
