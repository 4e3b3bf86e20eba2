import ArgumentParser

/// `dispatcher purge`: delete finished jobs.
struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge", abstract: "Delete succeeded, failed or cancelled jobs that finished long enough ago.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "succeeded, failed or cancelled.") var state: String
    @Option(help: "Only jobs finished at least this long ago, e.g. 7d.") var olderThan: String

    func run() async throws {
        guard case .state(let state) = try JobStateFilter(parsing: state) else {
            throw DispatcherError("only succeeded, failed or cancelled jobs can be purged")
        }
        let age = try DurationParser.milliseconds(olderThan, what: "--older-than")
        let count = try await database.withStore {
            try await $0.purge(state: state, finishedBefore: WallClock.nowMilliseconds() - age)
        }
        Output.write("purged \(count) job\(count == 1 ? "" : "s")\n")
    }
}
