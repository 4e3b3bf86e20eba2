extension SQLiteJobStore {
    /// Applies `renewal` to its queue's `queue_slots` rows in one write transaction: no other
    /// renewal, of this daemon or another, runs between reading the rows and writing its own.
    /// Returns the slots granted (nil when the queue has no fleet-wide bound).
    func renewSlots(_ renewal: SlotRenewal, now: Int64) throws -> Int? {
        try connection.writeTransaction {
            let decision = renewal.decide(rows: try slotRows(queue: renewal.queue), now: now)
            if decision.deleteExpired {
                let delete = try connection.statement(
                    "DELETE FROM queue_slots WHERE queue = ?1 AND owner <> ?2 AND expires_at < ?3")
                delete.bind(renewal.queue, at: 1)
                delete.bind(renewal.owner, at: 2)
                delete.bind(now, at: 3)
                try delete.run()
            }
            if let row = decision.write {
                let write = try connection.statement(
                    """
                    INSERT INTO queue_slots (queue, owner, slots, demand, concurrency_limit, max_in_flight, expires_at)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                    ON CONFLICT (queue, owner) DO UPDATE SET slots = excluded.slots, demand = excluded.demand,
                        concurrency_limit = excluded.concurrency_limit, max_in_flight = excluded.max_in_flight,
                        expires_at = excluded.expires_at
                    """)
                write.bind(row.queue, at: 1)
                write.bind(row.owner, at: 2)
                write.bind(row.slots, at: 3)
                write.bind(row.demand, at: 4)
                write.bind(row.concurrencyLimit, at: 5)
                write.bind(row.maxInFlight.map(Int64.init), at: 6)
                write.bind(row.expiresAt, at: 7)
                try write.run()
            }
            return decision.granted
        }
    }

    /// Deletes `owner`'s row of `queue`: its slots go to the others at once.
    func releaseSlots(queue: String, owner: String) throws {
        try connection.writeTransaction {
            let delete = try connection.statement("DELETE FROM queue_slots WHERE queue = ?1 AND owner = ?2")
            delete.bind(queue, at: 1)
            delete.bind(owner, at: 2)
            try delete.run()
        }
    }

    /// The rows of `queue`, or of every queue when nil, expired ones included.
    func slotRows(queue: String?) throws -> [QueueSlotRow] {
        let statement = try connection.statement(
            """
            SELECT queue, owner, slots, demand, concurrency_limit, max_in_flight, expires_at FROM queue_slots
            WHERE ?1 IS NULL OR queue = ?1 ORDER BY queue, owner
            """)
        statement.bind(queue, at: 1)
        var rows = [QueueSlotRow]()
        while try statement.step() {
            rows.append(
                QueueSlotRow(
                    queue: statement.string(0) ?? "", owner: statement.string(1) ?? "", slots: statement.int(2),
                    demand: statement.int(3), concurrencyLimit: statement.int(4),
                    maxInFlight: statement.optionalInt64(5).map(Int.init), expiresAt: statement.int64(6)))
        }
        return rows
    }
}
