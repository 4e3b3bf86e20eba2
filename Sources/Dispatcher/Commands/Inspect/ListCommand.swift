import ArgumentParser

/// `dispatcher list`: jobs as a table or JSON lines.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List jobs, oldest first.")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Only jobs in this state: \(JobStateFilter.validNames.joined(separator: ", ")).") var state: String?
    @Option(help: "Only jobs of this queue.") var queue: String?
    @Option(help: "At most this many jobs.") var limit = 100
    @Flag(help: "One JSON object per line (see README for the fields).") var json = false

    func run() async throws {
        let filter = try state.map(JobStateFilter.init(parsing:))
        guard limit >= 0 else { throw DispatcherError("--limit must not be negative") }
        let (queue, limit) = (self.queue, self.limit)
        let jobs = try await database.withStore { try await $0.list(state: filter, queue: queue, limit: limit) }
        if json {
            Output.write(jobs.map { JobJSON.object($0) + "\n" }.joined())
            return
        }
        var table = TableFormatter(headers: [
            "ID", "QUEUE", "METHOD", "STATE", "ATTEMPTS", "PRIORITY", "RUN AT", "LAST ERROR",
        ])
        for job in jobs {
            table.append([
                String(job.id), job.queue, job.method, job.displayState,
                job.maxAttempts.map { "\(job.attempts)/\($0)" } ?? String(job.attempts),
                String(job.priority), Timestamp.format(job.runAt), job.lastError ?? "",
            ])
        }
        Output.write(table.render())
    }
}
