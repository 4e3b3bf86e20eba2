extension SQLiteJobStore {
    /// Counts jobs per queue and state from the `job_counts` rows the triggers keep, and finds
    /// each queue's oldest due pending job through the claim index: no read grows with the table.
    func stats(now: Int64) throws -> [QueueStats] {
        let statement = try connection.statement(
            "SELECT queue, bucket, count FROM job_counts WHERE count <> 0 ORDER BY queue, bucket")
        var rows = [(queue: String, bucket: String, count: Int64)]()
        while try statement.step() {
            rows.append((statement.string(0) ?? "", statement.string(1) ?? "", statement.int64(2)))
        }
        var queues = JobCounts.fold(rows)
        for index in queues.indices where queues[index].count(.pending) > 0 {
            queues[index].oldestDueRunAt = try oldestDueRunAt(queue: queues[index].queue, now: now)
        }
        return queues
    }

    /// The earliest `run_at` among the queue's due pending jobs, or nil when none is due.
    ///
    /// The claim index orders a queue's pending jobs by priority first, so the earliest due time
    /// is not at one end of it. A loose index scan visits each distinct priority once (a seek for
    /// the next lower one, a seek for its earliest `run_at`): the cost grows with the number of
    /// priorities in use, not with the number of jobs.
    func oldestDueRunAt(queue: String, now: Int64) throws -> Int64? {
        let statement = try connection.statement(
            """
            WITH RECURSIVE levels(priority) AS (
                SELECT (SELECT max(priority) FROM jobs WHERE queue = ?1 AND \(JobSQL.claimable))
                UNION ALL
                SELECT (SELECT max(priority) FROM jobs WHERE queue = ?1 AND \(JobSQL.claimable) AND priority < levels.priority)
                FROM levels WHERE levels.priority IS NOT NULL)
            SELECT min((SELECT min(run_at) FROM jobs
                        WHERE queue = ?1 AND \(JobSQL.claimable) AND priority = levels.priority))
            FROM levels WHERE levels.priority IS NOT NULL
            """)
        statement.bind(queue, at: 1)
        guard let earliest = try statement.singleRow({ $0.optionalInt64(0) }) ?? nil else { return nil }
        return earliest <= now ? earliest : nil
    }

    /// Pending (retrying included) and running jobs of `queue`, from the job counts.
    func pendingAndRunning(queue: String) throws -> (pending: Int64, running: Int64) {
        let statement = try connection.statement("SELECT bucket, count FROM job_counts WHERE queue = ?1")
        statement.bind(queue, at: 1)
        var rows = [(bucket: String, count: Int64)]()
        while try statement.step() {
            rows.append((statement.string(0) ?? "", statement.int64(1)))
        }
        return JobCounts.pendingAndRunning(rows)
    }
}
