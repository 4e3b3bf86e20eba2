import ArgumentParser

/// `dispatcher cancel`: pending jobs to cancelled.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel pending jobs. All or nothing: an unknown id or a job not pending changes nothing.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "Job ids.") var ids: [Int64]

    func run() async throws {
        guard !ids.isEmpty else { throw DispatcherError("give the ids of the jobs to cancel") }
        let ids = self.ids
        let count = try await database.withStore { try await $0.cancel(ids: ids, now: WallClock.nowMilliseconds()) }
        Output.write("cancelled \(count) job\(count == 1 ? "" : "s")\n")
    }
}
