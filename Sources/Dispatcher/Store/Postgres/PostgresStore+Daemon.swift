import PostgresNIO

extension PostgresStore: DaemonStore {
    func claim(
        queue: String, limit: Int, limits: ClaimLimits, owner: String, defaultTimeout: Int64, leaseMargin: Int64
    ) async throws -> ClaimedBatch {
        let mark = await changes.mark()
        let logger = self.logger
        // SKIP LOCKED: concurrent claimers (other daemons) pass over rows being leased rather
        // than wait for them, and never lease the same row twice.
        let take: @Sendable (PostgresSession, Int) async throws -> [ClaimedJob] = { connection, limit in
            let statement = PostgresDaemonStatements.Claim(
                owner: owner, defaultTimeout: defaultTimeout, leaseMargin: leaseMargin, queue: queue,
                limit: Int64(limit))
            var jobs = [ClaimedJob]()
            jobs.reserveCapacity(limit)
            for row in try await self.run(statement, on: connection) {
                let (id, method, params, key, priority, attempts, timeout, runAt, maxAttempts) = row
                jobs.append(
                    ClaimedJob(
                        id: id, method: method, params: params.map { Array($0.utf8) }, idempotencyKey: key,
                        priority: priority, attempt: Int(attempts), timeoutMilliseconds: timeout, runAt: runAt,
                        maxAttempts: maxAttempts))
            }
            return jobs
        }
        var jobs: [ClaimedJob]
        var heldBack: ClaimedBatch.HeldBack?
        if limits.isEmpty {
            jobs = try await withConnection { try await take($0, limit) }
        } else {
            // The queue's claims with limits take its lock first (the ordering locks' function,
            // with the empty key no ordering key can be). What they read is read by statements
            // after it: under READ COMMITTED each then sees a snapshot taken after the lock was
            // granted, with every job and token the previous holder's claim committed. The rate
            // runs on the database's clock, the one clock every daemon of the fleet shares.
            (jobs, heldBack) = try await withTransaction { connection in
                _ = try await connection.rows(
                    "SELECT 1 FROM (SELECT pg_advisory_xact_lock(dispatcher.dispatcher_ordering_lock(\(queue), ''))) AS l",
                    logger: logger)
                let state = try await connection.rows(
                    """
                    SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint,
                           (SELECT theoretical_arrival FROM dispatcher.queue_rates WHERE queue = \(queue))
                    """, logger: logger)
                guard let row = state.first else { return ([], nil) }
                let (now, arrival) = try row.decode((Int64, Int64?).self)
                let grant = limits.rate?.grant(theoreticalArrival: arrival, now: now)
                let allowed = limits.allowed(limit: limit, rate: grant)
                guard allowed > 0 else {
                    return ([], grant?.nextAt.map { .rate(nextIn: .microseconds($0 - now)) })
                }
                let jobs = try await take(connection, allowed)
                if let rate = limits.rate, !jobs.isEmpty {
                    let spent = rate.spend(jobs.count, theoreticalArrival: arrival, now: now)
                    _ = try await connection.rows(
                        """
                        INSERT INTO dispatcher.queue_rates (queue, theoretical_arrival) VALUES (\(queue), \(spent))
                        ON CONFLICT (queue) DO UPDATE SET theoretical_arrival = excluded.theoretical_arrival
                        """, logger: logger)
                }
                return (jobs, nil)
            }
        }
        // RETURNING gives no order; hand jobs to workers in claim order.
        jobs.sort { ($0.priority, -$0.runAt, -$0.id) > ($1.priority, -$1.runAt, -$1.id) }
        return ClaimedBatch(jobs: jobs, mark: mark, heldBack: heldBack)
    }

    func complete(
        _ completions: [Completion], queue: String, owner: String
    ) async throws
        -> CompletionCounts
    {
        guard !completions.isEmpty else { return CompletionCounts() }
        // One statement for the whole batch: the outcomes travel as parallel arrays and are
        // joined to their rows by id, each applied only while the row is still leased to `owner`
        // (and is `queue`'s).
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
            kinds.append(completion.kind.rawValue)
            switch completion {
            case .succeeded(_, let result, let note):
                results.append(result.map { String(decoding: $0, as: UTF8.self) })
                errors.append(note)
                runAts.append(nil)
            case .retry(_, let error, let runAt):
                results.append(nil)
                errors.append(error)
                runAts.append(runAt)
            case .failed(_, let error):
                results.append(nil)
                errors.append(error)
                runAts.append(nil)
            case .released(_, let runAt, _):
                results.append(nil)
                errors.append(nil)
                runAts.append(runAt)
            }
        }
        // Retry and release times come from this host's clock: only their distance from now is
        // kept, added to the database's clock, so a skewed host neither hurries nor delays them.
        let statement = PostgresDaemonStatements.Complete(
            ids: ids, kinds: kinds, results: results, errors: errors, runAts: runAts,
            localNow: WallClock.nowMilliseconds(), owner: owner,
            queue: queue)
        let counts = try await withConnection { connection in
            var counts = CompletionCounts()
            var applied = 0
            for kind in try await self.run(statement, on: connection) {
                applied += 1
                switch Completion.Kind(rawValue: kind) {
                case .succeeded?: counts.succeeded += 1
                case .failed?: counts.failed += 1
                case .released?: counts.released += 1
                case .retry?, nil: counts.retried += 1
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
                UPDATE dispatcher.jobs SET state = 'pending', lease_owner = NULL, lease_until = NULL,
                    last_error = COALESCE(last_error, \(JobRules.leaseExpiredError))
                WHERE state = 'running' AND lease_until < dispatcher.dispatcher_now_ms()
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
                UPDATE dispatcher.jobs SET lease_until = dispatcher.dispatcher_now_ms() + COALESCE(timeout_ms, \(defaultTimeout)) + \(leaseMargin)
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
            SELECT min(run_at) - dispatcher.dispatcher_now_ms() FROM dispatcher.jobs WHERE queue = \(queue) AND \(unescaped: JobSQL.claimable)
                AND NOT EXISTS (SELECT 1 FROM dispatcher.paused_queues WHERE paused_queues.queue = \(queue))
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
            SELECT bucket, sum(count)::bigint FROM dispatcher.job_counts WHERE queue = \(queue) GROUP BY bucket
            """
        let logger = self.logger
        let rows = try await withConnection { connection in
            try await connection.rows(query, logger: logger).map { try $0.decode((String, Int64).self) }
        }
        return JobCounts.pendingAndRunning(rows.map { (bucket: $0.0, count: $0.1) })
    }

    var changes: any ChangeNotifier { PostgresChangeNotifier(broadcast: broadcast) }

    /// No file: the server keeps the data.
    var guardedFile: String? { nil }

    /// Runs one of the daemon's hot statements and returns its rows: as a named prepared
    /// statement (prepared on first use on each connection), or unnamed where names do not
    /// survive between transactions — through a transaction pooler, as the URL says or as the
    /// server shows by missing a statement prepared on this connection. Then the statement is
    /// sent again unnamed at once (it failed before doing anything), and every later one is too.
    func run<Statement: PostgresPreparedStatement>(
        _ statement: Statement, on connection: PostgresSession
    ) async throws -> [Statement.Row] {
        if namedStatements.load(ordering: .relaxed) {
            do {
                var rows = [Statement.Row]()
                for try await row in try await connection.connection.execute(statement, logger: logger) {
                    rows.append(row)
                }
                return rows
            } catch let error as PSQLError where Self.lostPreparedStatement(error) {
                if namedStatements.exchange(false, ordering: .relaxed) {
                    logger.warning(
                        "a named prepared statement did not survive from one transaction to the next: a transaction-mode connection pooler? Sending statements unnamed from now on; add ?pooling=transaction to the URL to say so",
                        metadata: ["db": "\(url.redacted)", "error": "\(PostgresErrors.cause(of: error))"])
                }
            }
        }
        var rows = [Statement.Row]()
        let query = PostgresQuery(unsafeSQL: Statement.sql, binds: try statement.makeBindings())
        for try await row in try await connection.query(query, logger: logger) {
            rows.append(try statement.decodeRow(row))
        }
        return rows
    }

    /// 26000 (no such prepared statement) or 42P05 (one of that name exists already): a
    /// statement name did not mean on this server connection what it meant on the last one.
    static func lostPreparedStatement(_ error: PSQLError) -> Bool {
        let state = error.serverInfo?[.sqlState]
        return state == "26000" || state == "42P05"
    }

    /// Runs a query that returns one integer.
    func scalar(_ query: PostgresQuery) async throws -> Int64 {
        let logger = self.logger
        return try await withConnection { connection in
            try await connection.rows(query, logger: logger).first?.decode(Int64.self) ?? 0
        }
    }
}
