import PostgresNIO

extension PostgresStore {
    func renewSlots(_ renewal: SlotRenewal) async throws -> Int? {
        let logger = self.logger
        let queue = renewal.queue
        return try await withTransaction { connection in
            // A limited queue's renewals take its lock (the one its rate-limited claims take):
            // under READ COMMITTED the rows read after it include every renewal committed before.
            // Judged by the database's clock, the one every daemon of the fleet shares.
            let clockQuery: PostgresQuery =
                renewal.maxInFlight == nil
                ? "SELECT dispatcher.dispatcher_now_ms()"
                : """
                SELECT dispatcher.dispatcher_now_ms()
                FROM (SELECT pg_advisory_xact_lock(dispatcher.dispatcher_ordering_lock(\(queue), ''))) AS l
                """
            let clock = try await connection.rows(clockQuery, logger: logger)
            guard let now = try clock.first?.decode(Int64.self) else { return nil }
            let rows = try await connection.rows(
                """
                SELECT queue, owner, slots::bigint, demand::bigint, concurrency_limit::bigint, max_in_flight::bigint,
                    expires_at
                FROM dispatcher.queue_slots WHERE queue = \(queue)
                """, logger: logger
            ).map(Self.slotRow)
            let decision = renewal.decide(rows: rows, now: now)
            if decision.deleteExpired {
                _ = try await connection.rows(
                    """
                    DELETE FROM dispatcher.queue_slots
                    WHERE queue = \(queue) AND owner <> \(renewal.owner) AND expires_at < \(now)
                    """, logger: logger)
            }
            if let row = decision.write {
                _ = try await connection.rows(
                    """
                    INSERT INTO dispatcher.queue_slots
                        (queue, owner, slots, demand, concurrency_limit, max_in_flight, expires_at)
                    VALUES (\(row.queue), \(row.owner), \(Int64(row.slots)), \(Int64(row.demand)),
                        \(Int64(row.concurrencyLimit)), \(row.maxInFlight.map(Int64.init)), \(row.expiresAt))
                    ON CONFLICT (queue, owner) DO UPDATE SET slots = excluded.slots, demand = excluded.demand,
                        concurrency_limit = excluded.concurrency_limit, max_in_flight = excluded.max_in_flight,
                        expires_at = excluded.expires_at
                    """, logger: logger)
            }
            return decision.granted
        }
    }

    func releaseSlots(queue: String, owner: String) async throws {
        let query: PostgresQuery = """
            WITH released AS (DELETE FROM dispatcher.queue_slots WHERE queue = \(queue) AND owner = \(owner) RETURNING 1)
            SELECT count(*) FROM released
            """
        _ = try await scalar(query)
    }

    func queueSlots() async throws -> [QueueSlotRow] {
        let logger = self.logger
        return try await withConnection { connection in
            try await connection.rows(
                """
                SELECT queue, owner, slots::bigint, demand::bigint, concurrency_limit::bigint, max_in_flight::bigint,
                    expires_at
                FROM dispatcher.queue_slots WHERE expires_at >= dispatcher.dispatcher_now_ms() ORDER BY queue, owner
                """, logger: logger
            ).map(Self.slotRow)
        }
    }

    private static func slotRow(_ row: PostgresRow) throws -> QueueSlotRow {
        let (queue, owner, slots, demand, limit, maxInFlight, expiresAt) = try row.decode(
            (String, String, Int64, Int64, Int64, Int64?, Int64).self)
        return QueueSlotRow(
            queue: queue, owner: owner, slots: Int(slots), demand: Int(demand), concurrencyLimit: Int(limit),
            maxInFlight: maxInFlight.map(Int.init), expiresAt: expiresAt)
    }
}
