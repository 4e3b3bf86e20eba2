import ArgumentParser

/// `dispatcher show ID`: every field of one job.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one job in full.")

    @OptionGroup var database: DatabaseOptions
    @Argument(help: "The job id.") var id: Int64
    @Flag(help: "As one JSON object (see README for the fields).") var json = false

    func run() async throws {
        let id = self.id
        guard let job = try await database.withStore({ try await $0.job(id: id) }) else {
            throw DispatcherError("no job with id \(id)")
        }
        if json {
            Output.write(JobJSON.object(job) + "\n")
            return
        }
        let time = { (value: Int64?) in value.map(Timestamp.format) ?? "-" }
        let rows: [(String, String)] = [
            ("id", String(job.id)), ("queue", job.queue), ("method", job.method), ("params", job.params ?? "-"),
            ("key", job.idempotencyKey ?? "-"),
            ("ordering key", job.orderingKeyDisplay ?? "-"),
            ("priority", String(job.priority)), ("state", job.displayState),
            ("attempts", job.maxAttempts.map { "\(job.attempts) of \($0)" } ?? "\(job.attempts) (queue default max)"),
            ("timeout", job.timeoutMilliseconds.map { DurationParser.format(milliseconds: $0) } ?? "queue default"),
            ("run at", time(job.runAt)), ("created at", time(job.createdAt)), ("started at", time(job.startedAt)),
            ("finished at", time(job.finishedAt)), ("lease owner", job.leaseOwner ?? "-"),
            ("lease until", time(job.leaseUntil)), ("last error", job.lastError ?? "-"), ("result", job.result ?? "-"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        var text = ""
        for (name, value) in rows {
            text += name + String(repeating: " ", count: width - name.count + 2) + value + "\n"
        }
        Output.write(text)
    }
}
