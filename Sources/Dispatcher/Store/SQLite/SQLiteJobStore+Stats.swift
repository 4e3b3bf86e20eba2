extension SQLiteJobStore {
    /// Counts jobs per queue and state in one pass over the claim index.
    func stats(now: Int64) throws -> [QueueStats] {
        let statement = try connection.statement(
            """
            SELECT queue, state, count(*),
                   sum(state = 'pending' AND attempts > 0),
                   min(CASE WHEN state = 'pending' AND run_at <= ?1 THEN run_at END)
            FROM jobs GROUP BY queue, state ORDER BY queue
            """)
        statement.bind(now, at: 1)
        var byQueue = [String: QueueStats]()
        var order = [String]()
        while try statement.step() {
            let queue = statement.string(0) ?? ""
            guard let state = JobState(rawValue: statement.string(1) ?? "") else { continue }
            if byQueue[queue] == nil {
                byQueue[queue] = QueueStats(queue: queue)
                order.append(queue)
            }
            byQueue[queue]!.counts[state] = statement.int64(2)
            byQueue[queue]!.retrying += statement.int64(3)
            if let oldest = statement.optionalInt64(4) {
                byQueue[queue]!.oldestDueRunAt = min(byQueue[queue]!.oldestDueRunAt ?? oldest, oldest)
            }
        }
        return order.map { byQueue[$0]! }
    }
}
