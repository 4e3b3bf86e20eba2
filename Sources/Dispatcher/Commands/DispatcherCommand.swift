import ArgumentParser

/// The root `dispatcher` command.
struct DispatcherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatcher",
        abstract: "A durable RPC job dispatcher: SQLite queue, fixed workers, one upstream connection each.",
        version: "0.1.0",
        subcommands: [
            EnqueueCommand.self, RunCommand.self, ListCommand.self, ShowCommand.self, StatsCommand.self,
            TopCommand.self, SchedulesCommand.self,
            RetryCommand.self, CancelCommand.self, PurgeCommand.self, PauseCommand.self, ResumeCommand.self,
        ]
    )
}
