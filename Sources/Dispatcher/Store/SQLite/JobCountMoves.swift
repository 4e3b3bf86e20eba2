/// The moves between `job_counts` buckets that the daemon's lease statements make, added up
/// while they run and written once per queue and bucket (migration
/// `0004_lease_statements_count_themselves`).
///
/// Why: the count trigger upserts two `job_counts` rows per job moved, and a claim or a
/// completion moves every job it touches; counted here, a claim of 128 jobs costs one upsert of
/// two rows instead of 128. The trigger steps aside only while the connection's
/// `last_insert_rowid()` holds `marker`, which `counting(on:_:)` sets around the statements and
/// puts back after them, so every other write on every connection is still counted by the
/// trigger.
struct JobCountMoves {
    /// What `last_insert_rowid()` holds while the lease statements run: -2^60, far below any
    /// rowid SQLite assigns to a job. The same literal is in the trigger's `WHEN`.
    static let marker: Int64 = -1_152_921_504_606_846_976

    private var changes: [(queue: String, bucket: String, delta: Int64)] = []

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
