import ArgumentParser

/// `dispatcher stats`: per-queue counts.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Per queue: jobs per state, oldest pending age, last minute's throughput and latencies.")

    @OptionGroup var database: DatabaseOptions
    @Flag(help: "One JSON object per queue, one per line (see README for the fields).") var json = false

    func run() async throws {
        let now = WallClock.nowMilliseconds()
        let report = StatsReport(
            now: now, statistics: try await database.withStore { try await $0.statistics(now: now) })
        Output.write(json ? report.jsonLines() : report.table())
    }
}
