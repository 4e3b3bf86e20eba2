/// The job queue's SQL: enqueue and the operator's queries and commands.
///
/// A thin, synchronous layer over one `SQLiteConnection`, used only from `SQLiteStore`'s
/// dedicated thread. Every write is one `BEGIN IMMEDIATE` transaction, so a failure leaves the
/// database as it was.
final class SQLiteJobStore {
    let connection: SQLiteConnection
    /// The daemon's statements by `DaemonQuery`, prepared on first use.
    var daemonStatements = [SQLiteStatement?](repeating: nil, count: DaemonQuery.allCases.count)
    /// The batched success update, prepared on first use.
    var successUpdate: SQLiteStatement?

    /// Opens the database at `path`, creating and migrating it when needed.
    init(path: String, synchronous: SQLiteConnection.Synchronous = .full) throws {
        connection = try SQLiteConnection(path: path, options: .init(synchronous: synchronous))
        try SQLiteMigrator().migrate(connection)
        // SQLite evaluates the schema's `state IN ('pending', …)` CHECK by building a temporary
        // B-tree for every row written, a large share of the SQLite time of an insert, a claim
        // or a completion (README and CHANGELOG have the measurement). Nothing this store writes needs it: every state is a literal in its SQL,
        // counters and times are computed here, and what people type (priority, attempts,
        // timeout, names) is validated by `JobInput` first. The CHECKs stay in the schema for
        // any other tool that writes to the file.
        try connection.execute("PRAGMA ignore_check_constraints=ON")
    }

    static let columns = JobSQL.columns

    // MARK: Enqueue

    /// Inserts `jobs` in one transaction and returns, in order, each job's id and whether it was
    /// created (false: its idempotency key was already known in its queue).
    func enqueue(_ jobs: [NewJob], now: Int64) throws -> [EnqueueResult] {
        try connection.writeTransaction { try insert(jobs, now: now) }
    }

    /// `enqueue`'s inserts, inside the caller's write transaction (the scheduler's too).
    func insert(_ jobs: [NewJob], now: Int64) throws -> [EnqueueResult] {
        // The counts are written once per queue for the whole transaction, not by the insert
        // trigger once per job (see `JobCountMoves`).
        try JobCountMoves.countingWithoutTriggers(on: connection) { moves in
            var results = [EnqueueResult]()
            results.reserveCapacity(jobs.count)
            // Runs of jobs without a key go in as multi-row INSERTs: one statement execution
            // per `rowsPerInsert` jobs instead of one per job.
            for run in NewJob.runs(jobs, limit: Self.rowsPerInsert) {
                switch run {
                case .keyed(let index):
                    let result = try insertWithKey(jobs[index], now: now)
                    if result.created { moves.insert(queue: jobs[index].queue, into: JobState.pending.rawValue) }
                    results.append(result)
                case .unkeyed(let range):
                    for job in jobs[range] { moves.insert(queue: job.queue, into: JobState.pending.rawValue) }
                    results += try insertWithoutKeys(jobs[range], now: now)
                }
            }
            if jobs.contains(where: { $0.orderingKey != nil }),
                let first = results.lazy.filter(\.created).map(\.id).min()
            {
                try holdBackBehindOrderingKeys(from: first)
            }
            return results
        }
    }

    static let rowsPerInsert = 64
    static let insertColumns =
        "INSERT INTO jobs (queue, method, params, idempotency_key, priority, max_attempts, run_at, timeout_ms, created_at, ordering_key) VALUES "
    static let insertColumnCount = 10

    private func bind(_ job: NewJob, to statement: SQLiteStatement, row: Int32, now: Int64) {
        let base = row * Int32(Self.insertColumnCount)
        statement.bind(job.queue, at: base + 1)
        statement.bind(job.method, at: base + 2)
        statement.bind(job.params, at: base + 3)
        statement.bind(job.idempotencyKey, at: base + 4)
        statement.bind(job.priority, at: base + 5)
        statement.bind(job.maxAttempts, at: base + 6)
        statement.bind(job.runAt, at: base + 7)
        statement.bind(job.timeoutMilliseconds, at: base + 8)
        statement.bind(now, at: base + 9)
        statement.bind(job.orderingKey, at: base + 10)
    }

    /// Multi-row INSERTs by row count, prepared on first use: a single enqueue (one process,
    /// one job) prepares one short statement, not all of them. Kept by count rather than looked
    /// up by SQL text, which would hash the 64-row text (some 1,500 bytes) on every execution.
    private var multiRowInserts: [Int: SQLiteStatement] = [:]

    private func multiRowInsert(rows: Int) throws -> SQLiteStatement {
        if let statement = multiRowInserts[rows] { return statement.reset() }
        let sql =
            Self.insertColumns
            + (0..<rows).map { row in
                "("
                    + (1...Self.insertColumnCount).map { "?\(row * Self.insertColumnCount + $0)" }
                    .joined(separator: ", ") + ")"
            }
            .joined(separator: ", ")
        let statement = try connection.prepare(sql)
        multiRowInserts[rows] = statement
        return statement
    }

    private func insertWithoutKeys(_ jobs: ArraySlice<NewJob>, now: Int64) throws -> [EnqueueResult] {
        let insert = try multiRowInsert(rows: jobs.count)
        for (row, job) in jobs.enumerated() {
            bind(job, to: insert, row: Int32(row), now: now)
        }
        try insert.run()
        // Within this write transaction nobody else inserts, and SQLite gives each new row
        // max(rowid) + 1, so the rows got consecutive ids ending at the last one.
        let last = connection.lastInsertRowID
        let first = last - Int64(jobs.count) + 1
        return (first...last).map { EnqueueResult(id: $0, created: true) }
    }

    private func insertWithKey(_ job: NewJob, now: Int64) throws -> EnqueueResult {
        // ON CONFLICT DO NOTHING, then a lookup: the unique index is partial (keys are
        // optional), so the conflict target repeats its WHERE clause.
        let insert = try connection.statement(
            Self.insertColumns + """
                (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                """)
        bind(job, to: insert, row: 0, now: now)
        try insert.run()
        if connection.changes == 1 {
            return EnqueueResult(id: connection.lastInsertRowID, created: true)
        }
        let lookup = try connection.statement("SELECT id FROM jobs WHERE queue = ? AND idempotency_key = ?")
        lookup.bind(job.queue, at: 1)
        lookup.bind(job.idempotencyKey, at: 2)
        guard let id = try lookup.singleRow({ $0.int64(0) }) else {
            throw NewJob.vanished(job)
        }
        return EnqueueResult(id: id, created: false)
    }

    /// Marks each job from id `first` on (all inserted by this transaction) that has an earlier
    /// job of its ordering key still pending or running as waiting behind it: the rule
    /// `jobs_ordering_insert` applies to every other program's inserts, which this connection's
    /// inserts skip with its triggers (see `JobCountMoves`). Inside the write transaction
    /// nothing else writes, so "earlier" is exactly the jobs that were there and the batch's own.
    private func holdBackBehindOrderingKeys(from first: Int64) throws {
        let statement = try connection.statement(
            """
            UPDATE jobs SET blocked = TRUE
            WHERE id >= ?1 AND ordering_key IS NOT NULL AND EXISTS (
                SELECT 1 FROM jobs AS earlier
                WHERE earlier.queue = jobs.queue AND earlier.ordering_key = jobs.ordering_key
                    AND earlier.\(JobSQL.holdsOrderingKey) AND earlier.id < jobs.id)
            """)
        statement.bind(first, at: 1)
        try statement.run()
    }

    // MARK: Reading

    /// Returns the job with `id`, or nil.
    func job(id: Int64) throws -> Job? {
        let statement = try connection.statement("SELECT \(Self.columns) FROM jobs WHERE id = ?")
        statement.bind(id, at: 1)
        return try statement.singleRow(Self.job(from:))
    }

    /// Lists jobs, oldest first, optionally filtered by state and queue.
    func list(state: JobStateFilter?, queue: String?, limit: Int) throws -> [Job] {
        var conditions = state.map { [JobSQL.condition($0)] } ?? []
        if queue != nil { conditions.append("queue = ?1") }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let statement = try connection.statement(
            "SELECT \(Self.columns) FROM jobs \(filter) ORDER BY id LIMIT \(max(0, limit))")
        if let queue { statement.bind(queue, at: 1) }
        var jobs = [Job]()
        while try statement.step() {
            jobs.append(Self.job(from: statement))
        }
        return jobs
    }

    static func job(from row: SQLiteStatement) -> Job {
        Job(
            id: row.int64(0),
            queue: row.string(1) ?? "",
            method: row.string(2) ?? "",
            params: row.string(3),
            idempotencyKey: row.string(4),
            priority: row.int64(5),
            state: JobState(rawValue: row.string(6) ?? "") ?? .pending,
            attempts: row.int64(7),
            maxAttempts: row.optionalInt64(8),
            runAt: row.int64(9),
            timeoutMilliseconds: row.optionalInt64(10),
            leaseOwner: row.string(11),
            leaseUntil: row.optionalInt64(12),
            createdAt: row.int64(13),
            startedAt: row.optionalInt64(14),
            finishedAt: row.optionalInt64(15),
            lastError: row.string(16),
            result: row.string(17),
            orderingKey: row.string(18),
            blocked: row.int64(19) != 0
        )
    }

    // MARK: Operator commands

    /// Moves failed or cancelled jobs back to pending, due now, with a fresh attempt budget.
    ///
    /// All or nothing: when any id is unknown or not failed/cancelled, nothing changes.
    func retry(ids: [Int64], now: Int64) throws -> Int {
        try changeEach(ids, as: .retry) { id in
            try resetToPending(where: "id = ?1", now: now) { $0.bind(id, at: 1) }
        }
    }

    /// Moves every job in `state` (optionally of one queue) back to pending; returns the count.
    func retry(state: JobState, queue: String?, now: Int64) throws -> Int {
        try JobRules.checkRetryable(state)
        return try connection.writeTransaction {
            try resetToPending(
                where: "state = '\(state.rawValue)'" + (queue == nil ? "" : " AND queue = ?1"), now: now
            ) { statement in
                if let queue { statement.bind(queue, at: 1) }
            }
        }
    }

    private func resetToPending(where condition: String, now: Int64, bind: (SQLiteStatement) -> Void) throws -> Int {
        let statement = try connection.statement(
            """
            UPDATE jobs SET state = 'pending', attempts = 0, run_at = ?9, finished_at = NULL,
                lease_owner = NULL, lease_until = NULL
            WHERE \(condition)
            """)
        bind(statement)
        statement.bind(now, at: 9)
        try statement.run()
        return connection.changes
    }

    /// Cancels pending jobs. All or nothing: when any id is unknown or not pending, nothing changes.
    func cancel(ids: [Int64], now: Int64) throws -> Int {
        try changeEach(ids, as: .cancel) { id in
            let statement = try connection.statement(
                "UPDATE jobs SET state = 'cancelled', finished_at = ?2 WHERE id = ?1 AND state = 'pending'")
            statement.bind(id, at: 1)
            statement.bind(now, at: 2)
            try statement.run()
            return connection.changes
        }
    }

    /// Deletes jobs in a terminal `state` that finished before `before`; returns the count.
    func purge(state: JobState, finishedBefore before: Int64) throws -> Int {
        try JobRules.checkPurgeable(state)
        return try connection.writeTransaction {
            // One range of jobs_retention (queue, state, finished_at) per queue that has jobs in
            // `state`, rather than a walk of every finished job.
            var deleted = 0
            for queue in try queues(withJobsIn: state) {
                let statement = try connection.statement(
                    "DELETE FROM jobs INDEXED BY jobs_retention WHERE queue = ?1 AND state = ?2 AND finished_at < ?3")
                statement.bind(queue, at: 1)
                statement.bind(state.rawValue, at: 2)
                statement.bind(before, at: 3)
                try statement.run()
                deleted += connection.changes
            }
            return deleted
        }
    }

    /// Checks every id's state, then applies `change` to each, in one transaction.
    private func changeEach(
        _ ids: [Int64], as operatorChange: JobRules.OperatorChange, apply change: (Int64) throws -> Int
    ) throws -> Int {
        try connection.writeTransaction {
            let lookup = try connection.statement("SELECT state FROM jobs WHERE id = ?")
            var states = [Int64: String]()
            for id in Set(ids) {
                lookup.reset().bind(id, at: 1)
                if let state = try lookup.singleRow({ $0.string(0) ?? "" }) { states[id] = state }
            }
            try JobRules.check(ids, states: states, for: operatorChange)
            var changed = 0
            for id in Set(ids) {
                changed += try change(id)
            }
            return changed
        }
    }
}
