import ArgumentParser

/// `dispatcher stats`: per-queue counts.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Per queue: jobs per state, oldest pending age, last minute's throughput and latencies.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "One JSON object per queue, one per line (see README for the fields).") var json = false

    func run() throws {
        let report = try StatsReport(store: database.openStore(), now: WallClock.nowMilliseconds())
        Output.write(json ? report.jsonLines() : report.table())
    }
}
