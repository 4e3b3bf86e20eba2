import PostgresNIO

extension PostgresStore: OperatorStore {
    static let columns = JobSQL.columns

    /// Wakes every listening daemon; inside a transaction it is delivered at commit.
    func notify(on connection: PostgresSession? = nil) async throws {
        let query: PostgresQuery = "SELECT pg_notify('dispatcher_jobs', '')"
        if let connection {
            try await connection.query(query, logger: logger)
        } else {
            let logger = self.logger
            try await withConnection { _ = try await $0.query(query, logger: logger) }
        }
    }

    func enqueue(_ jobs: [NewJob], now: Int64) async throws -> [EnqueueResult] {
        guard !jobs.isEmpty else { return [] }
        let logger = self.logger
        let runs = NewJob.runs(jobs)
        let ordered = jobs.contains { $0.orderingKey != nil }
        if runs.count == 1, case .unkeyed = runs[0], !ordered {
            // One statement is its own transaction: atomic and as durable as an explicit one,
            // without BEGIN and COMMIT's two extra round trips (the common case of the HTTP
            // API's groups and of a single `dispatcher enqueue`).
            return try await withConnection(replayable: false) {
                try await Self.insertWithoutKeys(jobs[...], now: now, on: $0, logger: logger)
            }
        }
        return try await withTransaction(replayable: false) { connection in
            if ordered {
                // The batch's ordering-key locks, all of them and in lock order, before any row's
                // insert trigger takes its own again (a lock held is granted at once): two
                // batches naming keys in different orders would otherwise deadlock.
                try await connection.query(
                    """
                    SELECT count(pg_advisory_xact_lock(lock)) FROM (
                        SELECT DISTINCT dispatcher.dispatcher_ordering_lock(q, k) AS lock
                        FROM unnest(\(jobs.map(\.queue)), \(PostgresNullableArray(jobs.map(\.orderingKey)))) AS l(q, k)
                        WHERE k IS NOT NULL ORDER BY lock) AS locks
                    """, logger: logger)
            }
            var results = [EnqueueResult]()
            results.reserveCapacity(jobs.count)
            for run in runs {
                switch run {
                case .keyed(let index):
                    results.append(try await Self.insertWithKey(jobs[index], now: now, on: connection, logger: logger))
                case .unkeyed(let range):
                    results += try await Self.insertWithoutKeys(jobs[range], now: now, on: connection, logger: logger)
                }
            }
            // No NOTIFY of our own: the jobs' insert trigger sends it, for every writer.
            return results
        }
    }

    // Due times are the database's: a job due `runAt - now` after the enqueuer's clock is due
    // that long after the database's, so an enqueuing host's skewed clock neither delays nor
    // advances its jobs.

    private static func insertWithoutKeys(
        _ jobs: ArraySlice<NewJob>, now: Int64, on connection: PostgresSession, logger: Logger
    ) async throws -> [EnqueueResult] {
        let query: PostgresQuery = """
            INSERT INTO dispatcher.jobs (queue, method, params, priority, max_attempts, run_at, timeout_ms, created_at,
                ordering_key)
            SELECT q, m, p, pr, ma, dispatcher.dispatcher_now_ms() + (r - \(now)), t, dispatcher.dispatcher_now_ms(), k
            FROM unnest(\(jobs.map(\.queue)), \(jobs.map(\.method)), \(PostgresNullableArray(jobs.map(\.params))),
                \(jobs.map(\.priority)), \(PostgresNullableArray(jobs.map(\.maxAttempts))), \(jobs.map(\.runAt)),
                \(PostgresNullableArray(jobs.map(\.timeoutMilliseconds))), \(PostgresNullableArray(jobs.map(\.orderingKey))))
                WITH ORDINALITY AS u(q, m, p, pr, ma, r, t, k, n)
            ORDER BY n
            RETURNING id
            """
        var ids = [Int64]()
        ids.reserveCapacity(jobs.count)
        for try await id in try await connection.query(query, logger: logger).decode(Int64.self) {
            ids.append(id)
        }
        // Identities are drawn in insertion order, which is the input's order.
        ids.sort()
        return ids.map { EnqueueResult(id: $0, created: true) }
    }

    static func insertWithKey(
        _ job: NewJob, now: Int64, on connection: PostgresSession, logger: Logger
    ) async throws -> EnqueueResult {
        let insert: PostgresQuery = """
            INSERT INTO dispatcher.jobs (queue, method, params, idempotency_key, priority, max_attempts, run_at, timeout_ms,
                created_at, ordering_key)
            VALUES (\(job.queue), \(job.method), \(job.params), \(job.idempotencyKey), \(job.priority),
                \(job.maxAttempts), dispatcher.dispatcher_now_ms() + (\(job.runAt)::bigint - \(now)::bigint), \(job.timeoutMilliseconds),
                dispatcher.dispatcher_now_ms(), \(job.orderingKey))
            ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING id
            """
        if let row = try await connection.rows(insert, logger: logger).first {
            return EnqueueResult(id: try row.decode(Int64.self), created: true)
        }
        let lookup: PostgresQuery =
            "SELECT id FROM dispatcher.jobs WHERE queue = \(job.queue) AND idempotency_key = \(job.idempotencyKey)"
        guard let row = try await connection.rows(lookup, logger: logger).first else {
            throw NewJob.vanished(job)
        }
        return EnqueueResult(id: try row.decode(Int64.self), created: false)
    }

    func job(id: Int64) async throws -> Job? {
        let query = PostgresQuery(
            unsafeSQL: "SELECT \(Self.columns) FROM dispatcher.jobs WHERE id = $1", binds: try binds(id))
        let logger = self.logger
        return try await withConnection { connection in
            try await connection.rows(query, logger: logger).first.map { try Self.job(from: $0) }
        }
    }

    func list(state: JobStateFilter?, queue: String?, limit: Int) async throws -> [Job] {
        var conditions = state.map { [JobSQL.condition($0)] } ?? []
        var bindings = PostgresBindings()
        if let queue {
            bindings.append(queue)
            conditions.append("queue = $1")
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let query = PostgresQuery(
            unsafeSQL: "SELECT \(Self.columns) FROM dispatcher.jobs \(filter) ORDER BY id LIMIT \(max(0, limit))",
            binds: bindings)
        let logger = self.logger
        return try await withConnection { connection in
            try await connection.rows(query, logger: logger).map { try Self.job(from: $0) }
        }
    }

    static func job(from row: PostgresRow) throws -> Job {
        let r = try row.decode(
            (
                Int64, String, String, String?, String?, Int64, String, Int64, Int64?, Int64, Int64?, String?, Int64?,
                Int64, Int64?, Int64?, String?, String?, String?, Bool
            ).self)
        return Job(
            id: r.0, queue: r.1, method: r.2, params: r.3, idempotencyKey: r.4, priority: r.5,
            state: JobState(rawValue: r.6) ?? .pending, attempts: r.7, maxAttempts: r.8, runAt: r.9,
            timeoutMilliseconds: r.10, leaseOwner: r.11, leaseUntil: r.12, createdAt: r.13, startedAt: r.14,
            finishedAt: r.15, lastError: r.16, result: r.17, orderingKey: r.18, blocked: r.19)
    }

    func statistics(now: Int64) async throws -> StoreStatistics {
        let logger = self.logger
        let since = now - QueueActivity.window
        let countsQuery: PostgresQuery = """
            SELECT queue, state, count(*) FROM dispatcher.jobs
            WHERE finished_at >= \(since) AND state IN ('succeeded', 'failed') GROUP BY queue, state
            """
        let samplesQuery: PostgresQuery = """
            SELECT queue, started_at - run_at, finished_at - started_at FROM dispatcher.jobs
            WHERE finished_at >= \(since) AND state IN ('succeeded', 'failed') AND started_at IS NOT NULL
            ORDER BY finished_at DESC LIMIT \(Int64(QueueActivity.sampleLimit))
            """
        return try await withConnection { connection in
            // One snapshot for all three reads, as SQLite's read transaction gives.
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                // Counts from the counters the triggers keep; the oldest due job by index seeks.
                var rows = [(queue: String, bucket: String, count: Int64)]()
                for row in try await connection.rows(Self.jobCountsQuery, logger: logger) {
                    rows.append(try row.decode((String, String, Int64).self))
                }
                var queues = JobCounts.fold(rows)
                for index in queues.indices where queues[index].count(.pending) > 0 {
                    let query = Self.earliestPendingQuery(queue: queues[index].queue)
                    if let earliest = try await connection.rows(query, logger: logger).first?.decode(Int64?.self),
                        earliest <= now
                    {
                        queues[index].oldestDueRunAt = earliest
                    }
                }
                var counts = [(queue: String, state: JobState, count: Int64)]()
                for row in try await connection.rows(countsQuery, logger: logger) {
                    let (queue, state, count) = try row.decode((String, String, Int64).self)
                    if let state = JobState(rawValue: state) { counts.append((queue, state, count)) }
                }
                var samples = [(queue: String, wait: Int64, run: Int64)]()
                for row in try await connection.rows(samplesQuery, logger: logger) {
                    let (queue, wait, run) = try row.decode((String, Int64, Int64).self)
                    samples.append((queue, wait, run))
                }
                var paused = Set<String>()
                for row in try await connection.rows("SELECT queue FROM dispatcher.paused_queues", logger: logger) {
                    paused.insert(try row.decode(String.self))
                }
                try await connection.query("COMMIT", logger: logger)
                return StoreStatistics(
                    queues: queues, activity: QueueActivity.fold(counts: counts, samples: samples),
                    paused: paused)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    func recentFailures(limit: Int) async throws -> [RecentFailure] {
        let query: PostgresQuery = """
            SELECT id, queue, method, COALESCE(last_error, ''), COALESCE(finished_at, 0) FROM dispatcher.jobs
            WHERE state = 'failed' ORDER BY id DESC LIMIT \(Int64(limit))
            """
        let logger = self.logger
        return try await withConnection { connection in
            try await connection.rows(query, logger: logger).map { row in
                let (id, queue, method, error, finishedAt) = try row.decode((Int64, String, String, String, Int64).self)
                return RecentFailure(id: id, queue: queue, method: method, error: error, finishedAt: finishedAt)
            }
        }
    }

    func retry(ids: [Int64], now: Int64) async throws -> Int {
        try await changeEach(ids, as: .retry) { connection, ids in
            """
            WITH changed AS (
                UPDATE dispatcher.jobs SET state = 'pending', attempts = 0, run_at = dispatcher.dispatcher_now_ms(), finished_at = NULL,
                    lease_owner = NULL, lease_until = NULL
                WHERE id = ANY(\(ids)) RETURNING 1)
            SELECT count(*) FROM changed
            """
        }
    }

    func retry(state: JobState, queue: String?, now: Int64) async throws -> Int {
        try JobRules.checkRetryable(state)
        let query: PostgresQuery = """
            WITH changed AS (
                UPDATE dispatcher.jobs SET state = 'pending', attempts = 0, run_at = dispatcher.dispatcher_now_ms(), finished_at = NULL,
                    lease_owner = NULL, lease_until = NULL
                WHERE state = \(state.rawValue) AND (\(queue)::text IS NULL OR queue = \(queue)) RETURNING 1)
            SELECT count(*) FROM changed
            """
        let logger = self.logger
        return try await withTransaction { connection in
            let count = try await connection.rows(query, logger: logger).first?.decode(Int64.self) ?? 0
            if count > 0 { try await self.notify(on: connection) }
            return Int(count)
        }
    }

    func cancel(ids: [Int64], now: Int64) async throws -> Int {
        try await changeEach(ids, as: .cancel) { connection, ids in
            """
            WITH changed AS (
                UPDATE dispatcher.jobs SET state = 'cancelled', finished_at = dispatcher.dispatcher_now_ms()
                WHERE id = ANY(\(ids)) AND state = 'pending' RETURNING 1)
            SELECT count(*) FROM changed
            """
        }
    }

    func purge(state: JobState, finishedBefore before: Int64) async throws -> Int {
        try JobRules.checkPurgeable(state)
        let query: PostgresQuery = """
            WITH purged AS (DELETE FROM dispatcher.jobs WHERE state = \(state.rawValue) AND finished_at < \(before) RETURNING 1)
            SELECT count(*) FROM purged
            """
        return Int(try await scalar(query))
    }

    /// Locks the rows, checks every id's state (`JobRules.check`), then runs the change, in one
    /// transaction: all or nothing.
    private func changeEach(
        _ ids: [Int64], as change: JobRules.OperatorChange,
        update: @escaping @Sendable (PostgresSession, [Int64]) -> PostgresQuery
    ) async throws -> Int {
        let unique = Array(Set(ids))
        let logger = self.logger
        return try await withTransaction { connection in
            var states = [Int64: String]()
            let lookup: PostgresQuery = "SELECT id, state FROM dispatcher.jobs WHERE id = ANY(\(unique)) FOR UPDATE"
            for row in try await connection.rows(lookup, logger: logger) {
                let (id, state) = try row.decode((Int64, String).self)
                states[id] = state
            }
            try JobRules.check(ids, states: states, for: change)
            let count =
                try await connection.rows(update(connection, unique), logger: logger).first?.decode(Int64.self) ?? 0
            if change == .retry && count > 0 { try await self.notify(on: connection) }
            return Int(count)
        }
    }

    private func binds(_ id: Int64) throws -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(id)
        return bindings
    }
}
