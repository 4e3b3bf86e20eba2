extension SQLiteJobStore {
    /// Jobs finished (succeeded or failed) per queue in each of the last `minutes` whole minutes
    /// ending at `now`, oldest first. Reads only that hour's range of jobs_retention, once per
    /// queue and finished state (the pairs from job_counts, walked first: CROSS JOIN keeps that
    /// order).
    func finishedPerMinute(now: Int64, minutes: Int) throws -> [String: [Int64]] {
        let start = now - Int64(minutes) * 60_000
        let statement = try connection.statement(
            """
            SELECT c.queue, (j.finished_at - ?1) / 60000, count(*)
            FROM job_counts AS c CROSS JOIN jobs AS j INDEXED BY jobs_retention
            WHERE c.bucket IN ('succeeded', 'failed') AND c.count > 0
                AND j.queue = c.queue AND j.state = c.bucket AND j.finished_at > ?1 AND j.finished_at <= ?2
            GROUP BY 1, 2
            """)
        statement.bind(start, at: 1)
        statement.bind(now, at: 2)
        var series = [String: [Int64]]()
        while try statement.step() {
            let queue = statement.string(0) ?? ""
            let minute = min(max(statement.int(1), 0), minutes - 1)
            series[queue, default: Array(repeating: 0, count: minutes)][minute] += statement.int64(2)
        }
        return series
    }

    /// Failed jobs, newest first, optionally of one queue (the dead set's index, by id).
    func failedJobs(queue: String?, offset: Int, limit: Int) throws -> [Job] {
        let statement = try connection.statement(
            "SELECT \(Self.columns) FROM jobs WHERE state = 'failed'" + (queue == nil ? "" : " AND queue = ?3")
                + " ORDER BY id DESC LIMIT ?1 OFFSET ?2")
        statement.bind(max(0, limit), at: 1)
        statement.bind(max(0, offset), at: 2)
        if let queue { statement.bind(queue, at: 3) }
        var jobs = [Job]()
        while try statement.step() {
            jobs.append(Self.job(from: statement))
        }
        return jobs
    }
}
extension SQLiteJobStore {
    /// Queues that no daemon claims from (`dispatcher pause`), sorted.
    func pausedQueues() throws -> Set<String> {
        let statement = try connection.statement("SELECT queue FROM paused_queues")
        var queues = Set<String>()
        while try statement.step() {
            queues.insert(statement.string(0) ?? "")
        }
        return queues
    }

    /// Pauses or resumes `queue`; returns false when it already was in that state.
    ///
    /// A paused queue keeps accepting jobs; daemons stop claiming it (the claim query checks
    /// this table), and calls already running finish as usual.
    @discardableResult
    func setPaused(_ paused: Bool, queue: String, now: Int64) throws -> Bool {
        try connection.writeTransaction {
            let statement =
                paused
                ? try connection.statement(
                    "INSERT INTO paused_queues (queue, paused_at) VALUES (?1, ?2) ON CONFLICT (queue) DO NOTHING")
                : try connection.statement("DELETE FROM paused_queues WHERE queue = ?1")
            statement.bind(queue, at: 1)
            if paused { statement.bind(now, at: 2) }
            try statement.run()
            return connection.changes == 1
        }
    }
}
