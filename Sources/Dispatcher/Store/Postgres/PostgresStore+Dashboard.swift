import PostgresNIO

extension PostgresStore {
    func failedJobs(queue: String?, offset: Int, limit: Int) async throws -> [Job] {
        let query: PostgresQuery = """
            SELECT \(unescaped: Self.columns) FROM dispatcher.jobs
            WHERE state = 'failed' AND (\(queue)::text IS NULL OR queue = \(queue))
            ORDER BY id DESC LIMIT \(Int64(max(0, limit))) OFFSET \(Int64(max(0, offset)))
            """
        let logger = self.logger
        return try await withConnection { connection in
            try await connection.rows(query, logger: logger).map { try Self.job(from: $0) }
        }
    }

    func finishedPerMinute(now: Int64, minutes: Int) async throws -> [String: [Int64]] {
        let start = now - Int64(minutes) * 60_000
        let query: PostgresQuery = """
            SELECT queue, (finished_at - \(start)) / 60000, count(*) FROM dispatcher.jobs
            WHERE finished_at > \(start) AND finished_at <= \(now) AND state IN ('succeeded', 'failed')
            GROUP BY 1, 2
            """
        let logger = self.logger
        let rows = try await withConnection { connection in
            try await connection.rows(query, logger: logger).map { try $0.decode((String, Int64, Int64).self) }
        }
        var series = [String: [Int64]]()
        for (queue, minute, count) in rows {
            let slot = Int(min(max(minute, 0), Int64(minutes - 1)))
            series[queue, default: Array(repeating: 0, count: minutes)][slot] += count
        }
        return series
    }

    func setPaused(_ paused: Bool, queue: String, now: Int64) async throws -> Bool {
        let query: PostgresQuery =
            paused
            ? """
            WITH changed AS (
                INSERT INTO dispatcher.paused_queues (queue, paused_at) VALUES (\(queue), dispatcher.dispatcher_now_ms())
                ON CONFLICT (queue) DO NOTHING RETURNING 1)
            SELECT count(*) FROM changed
            """
            : """
            WITH changed AS (DELETE FROM dispatcher.paused_queues WHERE queue = \(queue) RETURNING 1)
            SELECT count(*) FROM changed
            """
        let logger = self.logger
        return try await withTransaction { connection in
            let count = try await connection.rows(query, logger: logger).first?.decode(Int64.self) ?? 0
            // Resuming wakes the feeders that sleep on the paused queue.
            if count > 0 && !paused { try await self.notify(on: connection) }
            return count > 0
        }
    }
}
