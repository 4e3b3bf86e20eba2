extension JobStore {
    /// Queues that no daemon claims from (`dispatcher pause`), sorted.
    func pausedQueues() throws -> Set<String> {
        let statement = try connection.statement("SELECT queue FROM paused_queues")
        var queues = Set<String>()
        while try statement.step() {
            queues.insert(statement.string(0) ?? "")
        }
        return queues
    }

    /// Pauses or resumes `queue`; returns false when it already was in that state.
    ///
    /// A paused queue keeps accepting jobs; daemons stop claiming it (the claim query checks
    /// this table), and calls already running finish as usual.
    @discardableResult
    func setPaused(_ paused: Bool, queue: String, now: Int64) throws -> Bool {
        try connection.writeTransaction {
            let statement =
                paused
                ? try connection.statement(
                    "INSERT INTO paused_queues (queue, paused_at) VALUES (?1, ?2) ON CONFLICT (queue) DO NOTHING")
                : try connection.statement("DELETE FROM paused_queues WHERE queue = ?1")
            statement.bind(queue, at: 1)
            if paused { statement.bind(now, at: 2) }
            try statement.run()
            return connection.changes == 1
        }
    }
}
