import ArgumentParser

/// `dispatcher stats`: per-queue counts.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Per queue: jobs per state, retrying, oldest pending age.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "One JSON object per queue, one per line (see README for the fields).") var json = false

    func run() throws {
        let now = WallClock.nowMilliseconds()
        let stats = try database.openStore().stats(now: now)
        if json {
            Output.write(stats.map { JobJSON.object($0, now: now) + "\n" }.joined())
            return
        }
        var table = TableFormatter(
            headers: ["QUEUE", "PENDING", "RETRYING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "OLDEST PENDING"])
        for queue in stats {
            table.append([
                queue.queue, String(queue.count(.pending)), String(queue.retrying), String(queue.count(.running)),
                String(queue.count(.succeeded)), String(queue.count(.failed)), String(queue.count(.cancelled)),
                queue.oldestPendingAge(now: now).map { DurationParser.format(milliseconds: $0) } ?? "-",
            ])
        }
        Output.write(table.render())
    }
}
