import PostgresNIO

extension PostgresStore {
    func acquireMaintenanceLease(name: String, owner: String, ttl: Int64) async throws -> Bool {
        // One upsert: concurrent callers queue on the row, and the second sees the first's
        // unexpired lease in its WHERE and takes nothing. Judged by the database's clock.
        let query: PostgresQuery = """
            WITH taken AS (
                INSERT INTO dispatcher.maintenance_leases AS l (name, owner, expires_at)
                VALUES (\(name), \(owner), dispatcher.dispatcher_now_ms() + \(ttl))
                ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                WHERE l.owner = excluded.owner OR l.expires_at < dispatcher.dispatcher_now_ms()
                RETURNING 1)
            SELECT count(*) FROM taken
            """
        return try await scalar(query) == 1
    }

    func releaseMaintenanceLease(name: String, owner: String) async throws {
        let query: PostgresQuery = """
            WITH released AS (DELETE FROM dispatcher.maintenance_leases WHERE name = \(name) AND owner = \(owner) RETURNING 1)
            SELECT count(*) FROM released
            """
        _ = try await scalar(query)
    }

    func queues(withJobsIn state: JobState) async throws -> [String] {
        let query: PostgresQuery = """
            SELECT queue FROM dispatcher.job_counts WHERE bucket = \(state.rawValue)
            GROUP BY queue HAVING sum(count) > 0 ORDER BY queue
            """
        let logger = self.logger
        return try await withConnection { connection in
            try await connection.rows(query, logger: logger).map { try $0.decode(String.self) }
        }
    }

    func prune(queue: String, state: JobState, olderThan age: Int64, limit: Int) async throws -> Int {
        try JobRules.checkPurgeable(state)
        // Oldest first through jobs_retention (queue, state, finished_at); the statement-level
        // trigger folds the batch into one counter upsert.
        let query: PostgresQuery = """
            WITH pruned AS (
                DELETE FROM dispatcher.jobs WHERE id IN (
                    SELECT id FROM dispatcher.jobs
                    WHERE state = \(state.rawValue) AND queue = \(queue) AND finished_at < dispatcher.dispatcher_now_ms() - \(age)
                    ORDER BY finished_at LIMIT \(Int64(max(0, limit))))
                RETURNING 1)
            SELECT count(*) FROM pruned
            """
        return Int(try await scalar(query))
    }

    /// `(queue, bucket, count)` summed over the counters' slots, queues in order.
    static var jobCountsQuery: PostgresQuery {
        """
        SELECT queue, bucket, sum(count)::bigint FROM dispatcher.job_counts
        GROUP BY queue, bucket HAVING sum(count) <> 0 ORDER BY queue, bucket
        """
    }

    /// The earliest `run_at` among the queue's pending jobs, by a loose index scan of the claim
    /// index: one seek per distinct priority, however many jobs wait (see SQLite's twin).
    static func earliestPendingQuery(queue: String) -> PostgresQuery {
        """
        WITH RECURSIVE levels(priority) AS (
            SELECT (SELECT priority FROM dispatcher.jobs WHERE queue = \(queue) AND \(unescaped: JobSQL.claimable)
                    ORDER BY priority DESC LIMIT 1)
            UNION ALL
            SELECT (SELECT priority FROM dispatcher.jobs WHERE queue = \(queue) AND \(unescaped: JobSQL.claimable) AND priority < levels.priority
                    ORDER BY priority DESC LIMIT 1)
            FROM levels WHERE levels.priority IS NOT NULL)
        SELECT min((SELECT run_at FROM dispatcher.jobs WHERE queue = \(queue) AND \(unescaped: JobSQL.claimable) AND priority = levels.priority
                    ORDER BY run_at LIMIT 1))
        FROM levels WHERE levels.priority IS NOT NULL
        """
    }
}
