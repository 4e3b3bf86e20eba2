/// The moves between `job_counts` buckets that this binary's busiest writes make, added up
/// while they run and written once per queue and bucket.
///
/// Why: the count triggers upsert `job_counts` rows for every job a statement touches; counted
/// here, a claim of 128 jobs costs one upsert of two rows instead of 128, and an enqueue chunk of
/// 10,000 jobs one upsert instead of 10,000 (the insert trigger was a fifth of a batch
/// enqueue's instructions). Two ways to keep the triggers out, because SQLite offers no single
/// one that fits both:
/// - The daemon's lease statements (`counting(on:_:)`, migration
///   `0004_lease_statements_count_themselves`): the update trigger steps aside only while the
///   connection's `last_insert_rowid()` holds `marker`, set around the statements and put back
///   after them. Switching triggers off would instead re-prepare every cached statement twice
///   per claim.
/// - Enqueue (`countingWithoutTriggers(on:_:)`): an INSERT sets `last_insert_rowid()` itself,
///   so no marker survives into its trigger; the connection's triggers are switched off for
///   the transaction instead, which costs one re-preparation of the insert per transaction.
///
/// Either way every other write, on this connection or any other (the commands, the dashboard,
/// an older binary, SQL typed into `sqlite3`), is still counted by the triggers.
struct JobCountMoves {
    /// What `last_insert_rowid()` holds while the lease statements run: -2^60, far below any
    /// rowid SQLite assigns to a job. The same literal is in the trigger's `WHEN`.
    static let marker: Int64 = -1_152_921_504_606_846_976

    private var changes: [(queue: String, bucket: String, delta: Int64)] = []

    /// Records that a new job of `queue` entered `bucket`.
    mutating func insert(queue: String, into bucket: String) {
        add(1, queue: queue, bucket: bucket)
    }

    /// Records that `count` jobs of `queue` moved from bucket `from` to bucket `to`.
    mutating func move(_ count: Int64 = 1, queue: String, from: String, to: String) {
        guard count != 0, from != to else { return }
        add(-count, queue: queue, bucket: from)
        add(count, queue: queue, bucket: to)
    }

    private mutating func add(_ delta: Int64, queue: String, bucket: String) {
        // A handful of entries (one queue, two or three buckets): a scan beats hashing.
        if let index = changes.firstIndex(where: { $0.bucket == bucket && $0.queue == queue }) {
            changes[index].delta += delta
        } else {
            changes.append((queue, bucket, delta))
        }
    }

    /// Runs `body` — statements that move jobs into or out of `running` — with the count trigger
    /// stepped aside, then writes the moves `body` recorded. Call it inside the transaction of
    /// those statements, so the counts commit or roll back with them.
    static func counting<T>(on connection: SQLiteConnection, _ body: (inout JobCountMoves) throws -> T) throws -> T {
        let saved = connection.lastInsertRowID
        connection.lastInsertRowID = marker
        defer { connection.lastInsertRowID = saved }
        var moves = JobCountMoves()
        let result = try body(&moves)
        try moves.write(on: connection)
        return result
    }

    /// Runs `body` — statements that insert jobs — with this connection's triggers switched
    /// off, then writes the moves `body` recorded and switches them back on. Call it inside the
    /// transaction of those statements, so the counts commit or roll back with them; `body`
    /// must record every job it inserts, since no trigger counts them.
    static func countingWithoutTriggers<T>(
        on connection: SQLiteConnection, _ body: (inout JobCountMoves) throws -> T
    ) throws -> T {
        try connection.setTriggersEnabled(false)
        var moves = JobCountMoves()
        let result: T
        do {
            result = try body(&moves)
            try moves.write(on: connection)
        } catch {
            // Back on whatever happens: the connection outlives this call (the daemon's, the
            // dashboard's), and any other write on it must be counted by the triggers.
            try? connection.setTriggersEnabled(true)
            throw error
        }
        try connection.setTriggersEnabled(true)
        return result
    }

    private func write(on connection: SQLiteConnection) throws {
        for change in changes where change.delta != 0 {
            let statement = try connection.statement(
                """
                INSERT INTO job_counts (queue, bucket, count) VALUES (?1, ?2, ?3)
                ON CONFLICT (queue, bucket) DO UPDATE SET count = count + excluded.count
                """)
            statement.bind(change.queue, at: 1)
            statement.bind(change.bucket, at: 2)
            statement.bind(change.delta, at: 3)
            try statement.run()
        }
    }
}
