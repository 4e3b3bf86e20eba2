import ArgumentParser

/// `dispatcher cancel`: pending jobs to cancelled.
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel pending jobs. All or nothing: an unknown id or a job not pending changes nothing.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "Job ids.") var ids: [Int64]

    func run() throws {
        guard !ids.isEmpty else { throw DispatcherError("give the ids of the jobs to cancel") }
        let count = try database.openStore().cancel(ids: ids, now: WallClock.nowMilliseconds())
        Output.write("cancelled \(count) job\(count == 1 ? "" : "s")\n")
    }
}
