extension SQLiteJobStore {
    /// Per queue: jobs finished in the `window` ending at `now`, and wait/run percentiles.
    func activity(now: Int64, window: Int64 = QueueActivity.window) throws -> [String: QueueActivity] {
        // INDEXED BY: grouping by (queue, state) would otherwise draw the planner to a full scan
        // of jobs_retention (queue, state, finished_at) instead of the last minute's range.
        var counts = [(queue: String, state: JobState, count: Int64)]()
        let countStatement = try connection.statement(
            """
            SELECT queue, state, count(*) FROM jobs INDEXED BY jobs_finished
            WHERE finished_at >= ?1 AND state IN ('succeeded', 'failed') GROUP BY queue, state
            """)
        countStatement.bind(now - window, at: 1)
        while try countStatement.step() {
            guard let state = JobState(rawValue: countStatement.string(1) ?? "") else { continue }
            counts.append((countStatement.string(0) ?? "", state, countStatement.int64(2)))
        }
        let sampleStatement = try connection.statement(
            """
            SELECT queue, started_at - run_at, finished_at - started_at FROM jobs
            WHERE finished_at >= ?1 AND state IN ('succeeded', 'failed') AND started_at IS NOT NULL
            ORDER BY finished_at DESC LIMIT ?2
            """)
        sampleStatement.bind(now - window, at: 1)
        sampleStatement.bind(QueueActivity.sampleLimit, at: 2)
        var samples = [(queue: String, wait: Int64, run: Int64)]()
        while try sampleStatement.step() {
            samples.append((sampleStatement.string(0) ?? "", sampleStatement.int64(1), sampleStatement.int64(2)))
        }
        return QueueActivity.fold(counts: counts, samples: samples)
    }

    /// The most recently failed jobs, newest first.
    func recentFailures(limit: Int) throws -> [RecentFailure] {
        let statement = try connection.statement(
            "SELECT id, queue, method, last_error, finished_at FROM jobs WHERE state = 'failed' ORDER BY id DESC LIMIT ?"
        )
        statement.bind(limit, at: 1)
        var failures = [RecentFailure]()
        while try statement.step() {
            failures.append(
                RecentFailure(
                    id: statement.int64(0), queue: statement.string(1) ?? "", method: statement.string(2) ?? "",
                    error: statement.string(3) ?? "", finishedAt: statement.optionalInt64(4) ?? 0))
        }
        return failures
    }
}
