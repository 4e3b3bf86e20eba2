import PostgresNIO

/// The scheduler's SQL (see `ScheduleStore`). Each evaluation locks its schedules' rows with
/// `FOR UPDATE SKIP LOCKED`: a daemon that finds a row locked leaves that schedule to the one
/// evaluating it, whose commit moves `covered_until` past the slots it handled (it never moves
/// back, nor does the last slot). Slots are the server's clock (`dispatcher.dispatcher_now_ms()`).
extension PostgresStore: ScheduleStore {
    func register(_ schedules: [ScheduleDefinition]) async throws -> Int64 {
        let query: PostgresQuery = """
            INSERT INTO dispatcher.schedules AS s (name, cron, timezone, queue, method, covered_until, updated_at)
            SELECT n, c, z, q, m, dispatcher.dispatcher_now_ms(), dispatcher.dispatcher_now_ms()
            FROM unnest(\(schedules.map(\.name)), \(schedules.map(\.cron)), \(schedules.map(\.timezone)),
                \(schedules.map(\.queue)), \(schedules.map(\.method))) AS u(n, c, z, q, m)
            ORDER BY n
            ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone,
                queue = excluded.queue, method = excluded.method, updated_at = excluded.updated_at
            """
        let logger = self.logger
        return try await withTransaction { connection in
            try await connection.query(query, logger: logger)
            return try await connection.rows("SELECT dispatcher.dispatcher_now_ms()", logger: logger).first?.decode(
                Int64.self)
                ?? 0
        }
    }

    func fireSchedules(
        _ names: [String], plan: @escaping @Sendable (_ now: Int64, _ coveredUntil: [String: Int64]) -> [ScheduleFiring]
    ) async throws -> (now: Int64, fired: [ScheduleFired]) {
        let logger = self.logger
        return try await withTransaction { connection in
            let now =
                try await connection.rows("SELECT dispatcher.dispatcher_now_ms()", logger: logger).first?.decode(
                    Int64.self)
                ?? 0
            let locked: PostgresQuery = """
                SELECT name, covered_until FROM dispatcher.schedules WHERE name = ANY(\(names)) ORDER BY name
                FOR UPDATE SKIP LOCKED
                """
            var covered = [String: Int64]()
            for row in try await connection.rows(locked, logger: logger) {
                let (name, until) = try row.decode((String, Int64).self)
                covered[name] = until
            }
            var fired = [ScheduleFired]()
            for firing in plan(now, covered) where covered[firing.name] != nil {
                var results = [EnqueueResult]()
                for (_, job) in firing.jobs {
                    results.append(try await Self.insertWithKey(job, now: now, on: connection, logger: logger))
                }
                let lastSlot = firing.jobs.last?.slot
                let update: PostgresQuery = """
                    UPDATE dispatcher.schedules SET covered_until = greatest(covered_until, \(firing.coveredUntil)),
                        updated_at = dispatcher.dispatcher_now_ms(),
                        last_job_id = CASE WHEN \(lastSlot)::bigint > coalesce(last_slot, -1) THEN \(results.last?.id)::bigint
                            ELSE last_job_id END,
                        last_slot = CASE WHEN \(lastSlot)::bigint > coalesce(last_slot, -1) THEN \(lastSlot)::bigint
                            ELSE last_slot END
                    WHERE name = \(firing.name)
                    """
                try await connection.query(update, logger: logger)
                fired.append(ScheduleFired(name: firing.name, slots: firing.jobs.map(\.slot), results: results))
            }
            // Idle daemons hear of the new jobs at commit, from the jobs' insert trigger.
            return (now, fired)
        }
    }

    func schedules() async throws -> [ScheduleRecord] {
        let query: PostgresQuery = """
            SELECT s.name, s.cron, s.timezone, s.queue, s.method, s.covered_until, s.last_slot, s.last_job_id,
                s.updated_at, j.state, j.attempts
            FROM dispatcher.schedules s LEFT JOIN dispatcher.jobs j ON j.id = s.last_job_id
            ORDER BY s.name
            """
        let logger = self.logger
        return try await withConnection { connection in
            try await connection.rows(query, logger: logger).map { row in
                let (name, cron, timezone, queue, method, covered, lastSlot, lastJob, updated, state, attempts) =
                    try row.decode(
                        (String, String, String, String, String, Int64, Int64?, Int64?, Int64, String?, Int64?).self)
                return ScheduleRecord(
                    definition: ScheduleDefinition(
                        name: name, cron: cron, timezone: timezone, queue: queue, method: method),
                    coveredUntil: covered, lastSlot: lastSlot, lastJobID: lastJob,
                    lastJobState: state.map { JobState.displayName(stored: $0, attempts: attempts ?? 0) },
                    updatedAt: updated)
            }
        }
    }
}
