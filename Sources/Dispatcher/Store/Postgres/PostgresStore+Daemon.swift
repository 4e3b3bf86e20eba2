import PostgresNIO

extension PostgresStore: DaemonStore {
    func claim(
        queue: String, limit: Int, owner: String, defaultTimeout: Int64, leaseMargin: Int64
    ) async throws -> [ClaimedJob] {
        // SKIP LOCKED: concurrent claimers (other daemons) pass over rows being leased rather
        // than wait for them, and never lease the same row twice.
        let query: PostgresQuery = """
            UPDATE jobs SET state = 'running', attempts = jobs.attempts + 1, lease_owner = \(owner),
                lease_until = dispatcher_now_ms() + COALESCE(jobs.timeout_ms, \(defaultTimeout)) + \(leaseMargin),
                started_at = dispatcher_now_ms()
            FROM (
                SELECT id FROM jobs
                WHERE queue = \(queue) AND state = 'pending' AND run_at <= dispatcher_now_ms()
                    AND NOT EXISTS (SELECT 1 FROM paused_queues WHERE paused_queues.queue = \(queue))
                ORDER BY priority DESC, run_at, id LIMIT \(Int64(limit))
                FOR UPDATE SKIP LOCKED) picked
            WHERE jobs.id = picked.id
            RETURNING jobs.id, jobs.method, jobs.params, jobs.idempotency_key, jobs.priority, jobs.attempts,
                COALESCE(jobs.timeout_ms, \(defaultTimeout)), jobs.run_at, jobs.max_attempts
            """
        let logger = self.logger
        var jobs = try await withConnection { connection in
            var jobs = [ClaimedJob]()
            jobs.reserveCapacity(limit)
            for row in try await connection.rows(query, logger: logger) {
                let (id, method, params, key, priority, attempts, timeout, runAt, maxAttempts) = try row.decode(
                    (Int64, String, String?, String?, Int64, Int64, Int64, Int64, Int64?).self)
                jobs.append(
                    ClaimedJob(
                        id: id, method: method, params: params.map { Array($0.utf8) }, idempotencyKey: key,
                        priority: priority, attempt: Int(attempts), timeoutMilliseconds: timeout, runAt: runAt,
                        maxAttempts: maxAttempts))
            }
            return jobs
        }
        // RETURNING gives no order; hand jobs to workers in claim order.
        jobs.sort { ($0.priority, -$0.runAt, -$0.id) > ($1.priority, -$1.runAt, -$1.id) }
        return jobs
    }

    func complete(
        _ completions: [Completion], owner: String, defaultMaxAttempts: Int64
    ) async throws
        -> CompletionCounts
    {
        guard !completions.isEmpty else { return CompletionCounts() }
        // One statement for the whole batch: the outcomes travel as parallel arrays and are
        // joined to their rows by id, each applied only while the row is still leased to `owner`.
        var ids = [Int64]()
        var kinds = [String]()
        var results = [String?]()
        var errors = [String?]()
        var runAts = [Int64?]()
        // UPDATE … FROM applies one joined row per target row, an arbitrary one when an id comes
        // twice; the first completion of a job wins, as on SQLite, and the others count as stale.
        var seen = Set<Int64>()
        for completion in completions where seen.insert(completion.id).inserted {
            ids.append(completion.id)
            switch completion {
            case .succeeded(_, let result, let note):
                kinds.append("succeeded")
                results.append(result.map { String(decoding: $0, as: UTF8.self) })
                errors.append(note)
                runAts.append(nil)
            case .retry(_, let error, let runAt):
                kinds.append("retry")
                results.append(nil)
                errors.append(error)
                runAts.append(runAt)
            case .failed(_, let error):
                kinds.append("failed")
                results.append(nil)
                errors.append(error)
                runAts.append(nil)
            case .release(_, let runAt, _):
                kinds.append("release")
                results.append(nil)
                errors.append(nil)
                runAts.append(runAt)
            }
        }
        // Retry and release times come from this host's clock: only their distance from now is
        // kept, added to the database's clock, so a skewed host neither hurries nor delays them.
        let localNow = WallClock.nowMilliseconds()
        let query: PostgresQuery = """
            UPDATE jobs SET
                state = CASE i.kind
                    WHEN 'succeeded' THEN 'succeeded' WHEN 'failed' THEN 'failed' WHEN 'release' THEN 'pending'
                    ELSE CASE WHEN jobs.attempts >= COALESCE(jobs.max_attempts, \(defaultMaxAttempts))
                        THEN 'failed' ELSE 'pending' END END,
                result = CASE WHEN i.kind = 'succeeded' THEN i.result ELSE jobs.result END,
                last_error = CASE WHEN i.kind = 'release' THEN jobs.last_error ELSE i.error END,
                finished_at = CASE i.kind
                    WHEN 'succeeded' THEN dispatcher_now_ms() WHEN 'failed' THEN dispatcher_now_ms()
                    WHEN 'release' THEN NULL
                    ELSE CASE WHEN jobs.attempts >= COALESCE(jobs.max_attempts, \(defaultMaxAttempts))
                        THEN dispatcher_now_ms() END END,
                run_at = CASE WHEN i.kind IN ('retry', 'release')
                    THEN dispatcher_now_ms() + (i.run_at - \(localNow)) ELSE jobs.run_at END,
                attempts = CASE WHEN i.kind = 'release' THEN greatest(jobs.attempts - 1, 0) ELSE jobs.attempts END,
                lease_owner = NULL, lease_until = NULL
            FROM unnest(\(ids), \(kinds), \(PostgresNullableArray(results)), \(PostgresNullableArray(errors)),
                \(PostgresNullableArray(runAts))) AS i(id, kind, result, error, run_at)
            WHERE jobs.id = i.id AND jobs.state = 'running' AND jobs.lease_owner = \(owner)
            RETURNING i.kind, jobs.state
            """
        let logger = self.logger
        let counts = try await withConnection { connection in
            var counts = CompletionCounts()
            var applied = 0
            for row in try await connection.rows(query, logger: logger) {
                let (kind, state) = try row.decode((String, String).self)
                applied += 1
                switch kind {
                case "succeeded": counts.succeeded += 1
                case "failed": counts.failed += 1
                case "release": counts.released += 1
                default: if state == "failed" { counts.failed += 1 } else { counts.retried += 1 }
                }
            }
            counts.stale = completions.count - applied
            return counts
        }
        if counts.retried > 0 || counts.released > 0 {
            // Jobs went back to pending: this daemon's feeders should look again.
            broadcast.signal()
        }
        return counts
    }

    func reapExpiredLeases() async throws -> Int {
        let query: PostgresQuery = """
            WITH reaped AS (
                UPDATE jobs SET state = 'pending', lease_owner = NULL, lease_until = NULL,
                    last_error = COALESCE(last_error, \(JobRules.leaseExpiredError))
                WHERE state = 'running' AND lease_until < dispatcher_now_ms()
                RETURNING 1)
            SELECT count(*) FROM reaped
            """
        let count = try await scalar(query)
        if count > 0 {
            broadcast.signal()
            try await notify()
        }
        return Int(count)
    }

    func renewLeases(owner: String, ids: [Int64], defaultTimeout: Int64, leaseMargin: Int64) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let query: PostgresQuery = """
            WITH renewed AS (
                UPDATE jobs SET lease_until = dispatcher_now_ms() + COALESCE(timeout_ms, \(defaultTimeout)) + \(leaseMargin)
                WHERE state = 'running' AND lease_owner = \(owner) AND id = ANY(\(ids))
                RETURNING 1)
            SELECT count(*) FROM renewed
            """
        return Int(try await scalar(query))
    }

    func nextDue(queue: String) async throws -> Duration? {
        let query: PostgresQuery =
            // A paused queue has nothing due: its feeders wait for the NOTIFY of the resume.
            """
            SELECT min(run_at) - dispatcher_now_ms() FROM jobs WHERE queue = \(queue) AND state = 'pending'
                AND NOT EXISTS (SELECT 1 FROM paused_queues WHERE paused_queues.queue = \(queue))
            """
        let logger = self.logger
        let delay = try await withConnection { connection -> Int64? in
            try await connection.rows(query, logger: logger).first?.decode(Int64?.self) ?? nil
        }
        return delay.map { .milliseconds(max(0, $0)) }
    }

    func unfinishedCount(queue: String) async throws -> Int64 {
        let (pending, running) = try await pendingAndRunning(queue: queue)
        return pending + running
    }

    func pendingAndRunning(queue: String) async throws -> (pending: Int64, running: Int64) {
        let query: PostgresQuery = """
            SELECT bucket, sum(count)::bigint FROM job_counts WHERE queue = \(queue) GROUP BY bucket
            """
        let logger = self.logger
        let rows = try await withConnection { connection in
            try await connection.rows(query, logger: logger).map { try $0.decode((String, Int64).self) }
        }
        return JobCounts.pendingAndRunning(rows.map { (bucket: $0.0, count: $0.1) })
    }

    var changes: any ChangeNotifier { PostgresChangeNotifier(broadcast: broadcast) }

    /// Runs a query that returns one integer.
    func scalar(_ query: PostgresQuery) async throws -> Int64 {
        let logger = self.logger
        return try await withConnection { connection in
            try await connection.rows(query, logger: logger).first?.decode(Int64.self) ?? 0
        }
    }
}
