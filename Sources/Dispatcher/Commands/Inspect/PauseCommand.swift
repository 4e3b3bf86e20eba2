import ArgumentParser

/// `dispatcher pause QUEUE`: no daemon claims the queue's jobs until `dispatcher resume`.
struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Stop every daemon from claiming a queue's jobs; running calls finish, enqueue still works.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The queue to pause.") var queue: String

    func run() async throws {
        let name = try JobInput.validateName(queue, field: "queue")
        let changed = try await database.withStore {
            try await $0.setPaused(true, queue: name, now: WallClock.nowMilliseconds())
        }
        Output.write(changed ? "paused queue \(name)\n" : "queue \(name) was already paused\n")
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
        let name = try JobInput.validateName(queue, field: "queue")
        let changed = try await database.withStore {
            try await $0.setPaused(false, queue: name, now: WallClock.nowMilliseconds())
        }
        Output.write(changed ? "resumed queue \(name)\n" : "queue \(name) was not paused\n")
    }
}
