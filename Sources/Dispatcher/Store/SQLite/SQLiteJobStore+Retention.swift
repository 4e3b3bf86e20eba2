extension SQLiteJobStore {
    /// Takes or renews the maintenance lease `name` for `owner` until `now + ttl`; false while
    /// another owner's lease is unexpired. One statement in a write transaction, so two
    /// processes asking at once cannot both get it.
    func acquireMaintenanceLease(name: String, owner: String, ttl: Int64, now: Int64) throws -> Bool {
        try connection.writeTransaction {
            let statement = try connection.statement(
                """
                INSERT INTO maintenance_leases (name, owner, expires_at) VALUES (?1, ?2, ?3 + ?4)
                ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                WHERE maintenance_leases.owner = excluded.owner OR maintenance_leases.expires_at < ?3
                """)
            statement.bind(name, at: 1)
            statement.bind(owner, at: 2)
            statement.bind(now, at: 3)
            statement.bind(ttl, at: 4)
            try statement.run()
            return connection.changes == 1
        }
    }

    /// Drops the lease `name` when `owner` holds it.
    func releaseMaintenanceLease(name: String, owner: String) throws {
        try connection.writeTransaction {
            let statement = try connection.statement("DELETE FROM maintenance_leases WHERE name = ?1 AND owner = ?2")
            statement.bind(name, at: 1)
            statement.bind(owner, at: 2)
            try statement.run()
        }
    }

    /// Queues with at least one job in `state`, from the job counts.
    func queues(withJobsIn state: JobState) throws -> [String] {
        let statement = try connection.statement(
            "SELECT queue FROM job_counts WHERE bucket = ?1 AND count > 0 ORDER BY queue")
        statement.bind(state.rawValue, at: 1)
        var queues = [String]()
        while try statement.step() {
            queues.append(statement.string(0) ?? "")
        }
        return queues
    }

    /// Deletes up to `limit` jobs of `queue` in the terminal `state` that finished before
    /// `before`, oldest first, in one transaction; returns how many.
    func prune(queue: String, state: JobState, finishedBefore before: Int64, limit: Int) throws -> Int {
        try JobRules.checkPurgeable(state)
        return try connection.writeTransaction {
            // INDEXED BY: without statistics the planner might pick another index and step over
            // every other queue's and state's kept rows on each batch.
            let statement = try connection.statement(
                """
                DELETE FROM jobs WHERE id IN (
                    SELECT id FROM jobs INDEXED BY jobs_retention
                    WHERE state = ?1 AND queue = ?2 AND finished_at < ?3
                    ORDER BY finished_at LIMIT ?4)
                """)
            statement.bind(state.rawValue, at: 1)
            statement.bind(queue, at: 2)
            statement.bind(before, at: 3)
            statement.bind(max(0, limit), at: 4)
            try statement.run()
            return connection.changes
        }
    }
}
