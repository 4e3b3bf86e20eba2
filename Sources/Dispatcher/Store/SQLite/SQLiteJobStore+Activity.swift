extension SQLiteJobStore {
    /// Per queue: jobs finished in the `window` ending at `now`, and wait/run percentiles.
    ///
    /// Finished jobs are found through jobs_retention (queue, state, finished_at), one range per
    /// queue and finished state; the pairs come from job_counts (migration 0005 says why).
    func activity(now: Int64, window: Int64 = QueueActivity.window) throws -> [String: QueueActivity] {
        var counts = [(queue: String, state: JobState, count: Int64)]()
        let countStatement = try connection.statement(
            """
            SELECT c.queue, c.bucket, (
                SELECT count(*) FROM jobs INDEXED BY jobs_retention
                WHERE queue = c.queue AND state = c.bucket AND finished_at >= ?1)
            FROM job_counts AS c WHERE c.bucket IN ('succeeded', 'failed') AND c.count > 0
            """)
        countStatement.bind(now - window, at: 1)
        while try countStatement.step() {
            guard let state = JobState(rawValue: countStatement.string(1) ?? "") else { continue }
            let count = countStatement.int64(2)
            if count > 0 { counts.append((countStatement.string(0) ?? "", state, count)) }
        }
        // The newest `sampleLimit` of the window: each pair's newest (a backward walk of its
        // range, stopped at the limit), then the newest of those.
        let sampleStatement = try connection.statement(
            """
            SELECT started_at - run_at, finished_at - started_at, finished_at FROM jobs INDEXED BY jobs_retention
            WHERE queue = ?1 AND state = ?2 AND finished_at >= ?3 AND started_at IS NOT NULL
            ORDER BY finished_at DESC LIMIT ?4
            """)
        var samples = [(queue: String, wait: Int64, run: Int64, finishedAt: Int64)]()
        for pair in counts {
            sampleStatement.reset()
            sampleStatement.bind(pair.queue, at: 1)
            sampleStatement.bind(pair.state.rawValue, at: 2)
            sampleStatement.bind(now - window, at: 3)
            sampleStatement.bind(QueueActivity.sampleLimit, at: 4)
            while try sampleStatement.step() {
                samples.append(
                    (pair.queue, sampleStatement.int64(0), sampleStatement.int64(1), sampleStatement.int64(2)))
            }
        }
        if samples.count > QueueActivity.sampleLimit {
            samples.sort { $0.finishedAt > $1.finishedAt }
            samples.removeSubrange(QueueActivity.sampleLimit...)
        }
        return QueueActivity.fold(counts: counts, samples: samples.map { ($0.queue, $0.wait, $0.run) })
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
