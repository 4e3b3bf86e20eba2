import ArgumentParser

/// `dispatcher retry`: failed or cancelled jobs back to pending.
struct RetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Move failed or cancelled jobs back to pending, due now, with attempts reset.",
        discussion: "Either job ids, or --state failed|cancelled [--queue Q] for all of them.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "Job ids.") var ids: [Int64] = []
    @Option(help: "Retry every job in this state (failed or cancelled).") var state: String?
    @Option(help: "With --state: only this queue.") var queue: String?

    func run() async throws {
        let now = WallClock.nowMilliseconds()
        let count: Int
        switch (ids.isEmpty, state) {
        case (false, nil):
            guard queue == nil else { throw DispatcherError("--queue goes with --state, not with ids") }
            let ids = self.ids
            count = try await database.withStore { try await $0.retry(ids: ids, now: now) }
        case (true, let name?):
            guard case .state(let state) = try JobStateFilter(parsing: name) else {
                throw DispatcherError("only failed or cancelled jobs can be retried")
            }
            let queue = self.queue
            try JobRules.checkRetryable(state)
            count = try await database.withStore { try await $0.retry(state: state, queue: queue, now: now) }
        case (false, _?):
            throw DispatcherError("give job ids or --state, not both")
        case (true, nil):
            throw DispatcherError("give job ids, or --state failed to retry every failed job")
        }
        Output.write("retried \(count) job\(count == 1 ? "" : "s")\n")
    }
}
