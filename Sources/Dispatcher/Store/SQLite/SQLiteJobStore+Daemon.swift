extension SQLiteJobStore {
    /// The daemon's hot statements, prepared once per connection and kept by the store: a
    /// lookup by SQL text would hash a few hundred bytes on every claim and every completion.
    enum DaemonQuery: Int, CaseIterable {
        case claim, retry, failed, release

        var sql: String {
            switch self {
            case .claim:
                """
                UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?1,
                    lease_until = ?2 + COALESCE(timeout_ms, ?3) + ?4, started_at = ?2
                WHERE id IN (
                    SELECT id FROM jobs WHERE queue = ?5 AND \(JobSQL.claimable) AND run_at <= ?2
                        AND NOT EXISTS (SELECT 1 FROM paused_queues WHERE queue = ?5)
                    ORDER BY \(JobSQL.claimOrder) LIMIT ?6)
                RETURNING id, method, params, idempotency_key, priority, attempts, COALESCE(timeout_ms, ?3), run_at,
                    max_attempts
                """
            case .retry:
                // ?1 is the job, ?2 the owner and ?7 the queue in each of the three statements.
                // `JobLife` decided the job has attempts left: no limit is looked at here.
                """
                UPDATE jobs SET state = 'pending', run_at = ?5, last_error = ?6, lease_owner = NULL, lease_until = NULL
                WHERE id = ?1 AND state = 'running' AND lease_owner = ?2 AND queue = ?7
                RETURNING \(JobSQL.bucket)
                """
            case .failed:
                """
                UPDATE jobs SET state = 'failed', last_error = ?3, finished_at = ?4,
                    lease_owner = NULL, lease_until = NULL
                WHERE id = ?1 AND state = 'running' AND lease_owner = ?2 AND queue = ?7
                RETURNING 'failed'
                """
            case .release:
                """
                UPDATE jobs SET state = 'pending', attempts = max(attempts - 1, 0), run_at = ?3,
                    lease_owner = NULL, lease_until = NULL
                WHERE id = ?1 AND state = 'running' AND lease_owner = ?2 AND queue = ?7
                RETURNING CASE WHEN attempts > 0 THEN 'retrying' ELSE 'pending' END
                """
            }
        }
    }

    /// The prepared statement for `query`, reset and with its bindings cleared.
    func statement(_ query: DaemonQuery) throws -> SQLiteStatement {
        if let statement = daemonStatements[query.rawValue] { return statement.reset() }
        let statement = try connection.prepare(query.sql)
        daemonStatements[query.rawValue] = statement
        return statement
    }

    /// Successes are written `successRows` at a time by one statement (the common case of a
    /// drain: one statement execution per 64 jobs instead of one per job).
    static let successRows = 64

    /// `UPDATE … FROM` a `VALUES` list of `successRows` successes: SQLite walks the list and finds
    /// each job by its primary key (`SEARCH jobs USING INTEGER PRIMARY KEY`), under the same guard
    /// as a single update, so a job no longer leased to `owner` is left alone and counted stale.
    ///
    /// A shorter run leaves the last rows unbound: their id is NULL, which matches no job and
    /// costs a skipped seek. One statement serves every run length; one per length cost a
    /// prepare of up to 64 rows for each new length (under `bench-instructions.py` a twentieth of
    /// the daemon's instructions).
    func successStatement() throws -> SQLiteStatement {
        if let statement = successUpdate { return statement.reset() }
        let values = (0..<Self.successRows).map { row in "(?\(row * 3 + 4), ?\(row * 3 + 5), ?\(row * 3 + 6))" }
        let statement = try connection.prepare(
            """
            WITH done(id, result, note) AS (VALUES \(values.joined(separator: ", ")))
            UPDATE jobs SET state = 'succeeded', result = done.result, last_error = done.note, finished_at = ?1,
                lease_owner = NULL, lease_until = NULL
            FROM done WHERE jobs.id = done.id AND jobs.state = 'running' AND jobs.lease_owner = ?2
                AND jobs.queue = ?3
            """)
        successUpdate = statement
        return statement
    }

    /// Leases up to `limit` due jobs of `queue` to `owner`, counting an attempt for each.
    ///
    /// One `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING` inside `BEGIN IMMEDIATE`, so two
    /// daemons can never claim the same job. The lease covers the job's timeout plus `leaseMargin`
    /// and is renewed by its owner while it lives.
    func claim(
        queue: String, limit: Int, limits: ClaimLimits = .none, owner: String, now: Int64, defaultTimeout: Int64,
        leaseMargin: Int64
    ) throws -> (jobs: [ClaimedJob], heldBack: ClaimedBatch.HeldBack?) {
        try connection.writeTransaction {
            var limit = limit
            // Inside the write transaction: no other claim, of this daemon or another, runs
            // between reading the shared state and writing it back.
            let nowMicros = now * 1000
            var arrival: Int64?
            var grant: SharedRate.Grant?
            if let rate = limits.rate {
                let read = try connection.statement("SELECT theoretical_arrival FROM queue_rates WHERE queue = ?1")
                read.bind(queue, at: 1)
                arrival = try read.singleRow { $0.int64(0) }
                grant = rate.grant(theoreticalArrival: arrival, now: nowMicros)
            }
            limit = limits.allowed(limit: limit, rate: grant)
            if limit == 0 {
                return ([], grant?.nextAt.map { .rate(nextIn: .microseconds($0 - nowMicros)) })
            }
            let jobs = try JobCountMoves.counting(on: connection) { moves in
                let statement = try self.statement(.claim)
                statement.bind(owner, at: 1)
                statement.bind(now, at: 2)
                statement.bind(defaultTimeout, at: 3)
                statement.bind(leaseMargin, at: 4)
                statement.bind(queue, at: 5)
                statement.bind(limit, at: 6)
                var jobs = [ClaimedJob]()
                jobs.reserveCapacity(limit)
                var wereRetrying: Int64 = 0
                while try statement.step() {
                    let attempt = statement.int(5)
                    // Counted at this claim: a job past its first attempt was retrying.
                    if attempt > 1 { wereRetrying += 1 }
                    jobs.append(
                        ClaimedJob(
                            id: statement.int64(0), method: statement.string(1) ?? "", params: statement.bytes(2),
                            idempotencyKey: statement.string(3), priority: statement.int64(4), attempt: attempt,
                            timeoutMilliseconds: statement.int64(6), runAt: statement.int64(7),
                            maxAttempts: statement.optionalInt64(8)))
                }
                let running = JobState.running.rawValue
                moves.move(Int64(jobs.count) - wereRetrying, queue: queue, from: JobState.pending.rawValue, to: running)
                moves.move(wereRetrying, queue: queue, from: JobCounts.retryingBucket, to: running)
                // RETURNING gives no order; hand jobs to workers in claim order.
                jobs.sort { ($0.priority, -$0.runAt, -$0.id) > ($1.priority, -$1.runAt, -$1.id) }
                return jobs
            }
            if let rate = limits.rate, !jobs.isEmpty {
                let write = try connection.statement(
                    """
                    INSERT INTO queue_rates (queue, theoretical_arrival) VALUES (?1, ?2)
                    ON CONFLICT (queue) DO UPDATE SET theoretical_arrival = excluded.theoretical_arrival
                    """)
                write.bind(queue, at: 1)
                write.bind(rate.spend(jobs.count, theoreticalArrival: arrival, now: nowMicros), at: 2)
                try write.run()
            }
            return (jobs, nil)
        }
    }

    /// Applies a batch of completions of `queue`'s jobs in one transaction. Each update is guarded
    /// by `state = 'running' AND lease_owner = owner AND queue = queue`, so a late or duplicate
    /// completion (or one for another queue's job) is a no-op, and the jobs moved are counted for
    /// `queue` without reading it back from every row.
    ///
    /// Completions apply in order, and the first completion of a job wins (as on PostgreSQL).
    /// Runs of successes go in `successRows` at a time; retries, failures and releases one by one.
    func complete(
        _ completions: [Completion], queue: String, owner: String, now: Int64
    ) throws
        -> CompletionCounts
    {
        try connection.writeTransaction {
            try JobCountMoves.counting(on: connection) { moves in
                var counts = CompletionCounts()
                var successes = [(id: Int64, result: [UInt8]?, note: String?)]()
                successes.reserveCapacity(min(completions.count, Self.successRows))
                var seen = Set<Int64>(minimumCapacity: completions.count)
                let running = JobState.running.rawValue
                func writeSuccesses() throws {
                    guard !successes.isEmpty else { return }
                    let statement = try successStatement()
                    statement.bind(now, at: 1)
                    statement.bind(owner, at: 2)
                    statement.bind(queue, at: 3)
                    for (row, success) in successes.enumerated() {
                        let base = Int32(row * 3)
                        statement.bind(success.id, at: base + 4)
                        if let result = success.result {
                            result.withUnsafeBytes { statement.bindText($0, at: base + 5) }
                        }
                        statement.bind(success.note, at: base + 6)
                    }
                    try statement.run()
                    let changed = connection.changes
                    moves.move(Int64(changed), queue: queue, from: running, to: JobState.succeeded.rawValue)
                    counts.succeeded += changed
                    counts.stale += successes.count - changed
                    successes.removeAll(keepingCapacity: true)
                }
                for completion in completions {
                    // Whatever the first completion of a job did, it left the job no longer running
                    // under `owner`, so a second one is stale; within one statement it would instead
                    // race the first for the row.
                    guard seen.insert(completion.id).inserted else {
                        counts.stale += 1
                        continue
                    }
                    if case .succeeded(let id, let result, let note) = completion {
                        successes.append((id, result, note))
                        if successes.count == Self.successRows { try writeSuccesses() }
                        continue
                    }
                    try writeSuccesses()
                    try apply(
                        completion, queue: queue, owner: owner, now: now, to: &counts, moves: &moves)
                }
                try writeSuccesses()
                return counts
            }
        }
    }

    /// Writes one retry, failure or release.
    private func apply(
        _ completion: Completion, queue: String, owner: String, now: Int64,
        to counts: inout CompletionCounts, moves: inout JobCountMoves
    ) throws {
        let statement: SQLiteStatement
        switch completion {
        case .succeeded:
            preconditionFailure("successes are written in batches")
        case .retry(let id, let error, let runAt):
            statement = try self.statement(.retry)
            statement.bind(id, at: 1)
            statement.bind(runAt, at: 5)
            statement.bind(error, at: 6)
        case .failed(let id, let error):
            statement = try self.statement(.failed)
            statement.bind(id, at: 1)
            statement.bind(error, at: 3)
            statement.bind(now, at: 4)
        case .released(let id, let runAt, _):
            statement = try self.statement(.release)
            statement.bind(id, at: 1)
            statement.bind(runAt, at: 3)
        }
        statement.bind(owner, at: 2)
        statement.bind(queue, at: 7)
        // Each statement returns the job's new bucket, or no row when the job is no longer
        // running under `owner` (or is not `queue`'s).
        guard try statement.step() else {
            counts.stale += 1
            return
        }
        let bucket = statement.string(0) ?? ""
        moves.move(queue: queue, from: JobState.running.rawValue, to: bucket)
        try statement.run()
        switch completion {
        case .failed: counts.failed += 1
        case .retry: counts.retried += 1
        case .released: counts.released += 1
        case .succeeded: break
        }
    }

    /// Returns running jobs whose lease expired (their daemon died) to pending; the attempt
    /// they used stays counted, since the call may have happened.
    func reapExpiredLeases(now: Int64) throws -> Int {
        try connection.writeTransaction {
            let statement = try connection.statement(
                """
                UPDATE jobs SET state = 'pending', lease_owner = NULL, lease_until = NULL,
                    last_error = COALESCE(last_error, ?2)
                WHERE state = 'running' AND lease_until < ?1
                """)
            statement.bind(now, at: 1)
            statement.bind(JobRules.leaseExpiredError, at: 2)
            try statement.run()
            return connection.changes
        }
    }

    /// Extends the leases of every job `owner` holds: the heartbeat of a live daemon.
    func renewLeases(owner: String, ids: [Int64], now: Int64, defaultTimeout: Int64, leaseMargin: Int64) throws -> Int {
        try connection.writeTransaction {
            let statement = try connection.statement(
                """
                UPDATE jobs SET lease_until = ?2 + COALESCE(timeout_ms, ?3) + ?4
                WHERE state = 'running' AND lease_owner = ?1 AND id IN (SELECT value FROM json_each(?5))
                """)
            statement.bind(owner, at: 1)
            statement.bind(now, at: 2)
            statement.bind("[" + ids.map(String.init).joined(separator: ",") + "]", at: 5)
            statement.bind(defaultTimeout, at: 3)
            statement.bind(leaseMargin, at: 4)
            try statement.run()
            return connection.changes
        }
    }

    /// The earliest `run_at` of the queue's pending jobs, or nil when none is pending.
    func nextRunAt(queue: String) throws -> Int64? {
        // A paused queue has nothing due: its feeder sleeps until a commit (such as the resume) wakes it.
        let statement = try connection.statement(
            """
            SELECT min(run_at) FROM jobs WHERE queue = ?1 AND \(JobSQL.claimable)
                AND NOT EXISTS (SELECT 1 FROM paused_queues WHERE queue = ?1)
            """)
        statement.bind(queue, at: 1)
        return try statement.singleRow { $0.optionalInt64(0) } ?? nil
    }

    /// Jobs of `queue` that are pending or running (by any daemon).
    func unfinishedCount(queue: String) throws -> Int64 {
        let (pending, running) = try pendingAndRunning(queue: queue)
        return pending + running
    }

    /// SQLite's `PRAGMA data_version`: changes whenever another connection commits.
    func dataVersion() throws -> Int64 {
        try connection.scalar("PRAGMA data_version")
    }
}
