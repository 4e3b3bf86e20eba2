import ArgumentParser

/// `dispatcher pause QUEUE`: no daemon claims the queue's jobs until `dispatcher resume`.
struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Stop every daemon from claiming a queue's jobs; running calls finish, enqueue still works.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The queue to pause.") var queue: String

    func run() async throws {
        try await Self.setPaused(true, queue: queue, database: database)
    }

    /// Pauses or resumes `queue` and says what changed (shared with `ResumeCommand`).
    static func setPaused(_ paused: Bool, queue: String, database: DatabaseOptions) async throws {
        let name = try JobInput.validateName(queue, field: "queue")
        let changed = try await database.withStore {
            try await $0.setPaused(paused, queue: name, now: WallClock.nowMilliseconds())
        }
        switch (paused, changed) {
        case (true, true): Output.write("paused queue \(name)\n")
        case (true, false): Output.write("queue \(name) was already paused\n")
        case (false, true): Output.write("resumed queue \(name)\n")
        case (false, false): Output.write("queue \(name) was not paused\n")
        }
    }
}

/// `dispatcher resume QUEUE`: daemons claim the queue's jobs again.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Let daemons claim a paused queue's jobs again.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The queue to resume.") var queue: String

    func run() async throws {
        try await PauseCommand.setPaused(false, queue: queue, database: database)
    }
}
