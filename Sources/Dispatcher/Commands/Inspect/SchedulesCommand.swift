import ArgumentParser

/// `dispatcher schedules`: the periodic jobs the store knows, or those of a config file.
struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules",
        abstract: "List schedules: cron, time zone, next slot, the last slot enqueued and its job.")

    @OptionGroup var database: DatabaseOptions
    @Option(
        help: ArgumentHelp(
            "Check this config file and list its schedules instead (with what the store knows of them when --db is given).",
            valueName: "file"))
    var config: String?
    @Flag(help: "One JSON object per schedule, one per line (see README for the fields).") var json = false

    func run() async throws {
        let now = WallClock.nowMilliseconds()
        let report: ScheduleReport
        if let config {
            var base = DaemonConfiguration()
            base.store = try database.location()
            let file = try ConfigFile.load(path: config, into: base)
            // Only a store named on purpose is read: a check before deploying must not create
            // ./dispatcher.db.
            let records = database.db == nil ? [] : try await database.withStore { try await $0.schedules() }
            report = ScheduleReport(records: records, configured: file.schedules, now: now)
        } else {
            report = ScheduleReport(records: try await database.withStore { try await $0.schedules() }, now: now)
        }
        Output.write(json ? report.jsonLines() : report.table())
    }
}
