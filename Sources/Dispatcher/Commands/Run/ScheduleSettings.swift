/// One schedule as written in the config file (`schedules[i]`), checked by `validate` into a
/// `Schedule` with the same rules as `dispatcher enqueue` applies to a job (`JobInput`).
struct ScheduleSettings: Decodable {
    var name: String?
    var cron: String?
    var timezone: String?
    var queue: String?
    var method: String?
    /// Only its presence is decoded: the text itself is cut from the file as written
    /// (`ConfigFile.rawParams`), so numbers and key order reach the upstream unchanged.
    var params: ConfigKeys.Tree?
    var priority: Int64?
    var maxAttempts: Int64?
    var timeout: String?
    var catchUp: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, cron, timezone, queue, method, params, priority, timeout
        case maxAttempts = "max_attempts"
        case catchUp = "catch_up"
    }

    /// The schedule these settings describe.
    ///
    /// - Parameters:
    ///   - index: the schedule's place in `schedules`, for messages about a nameless one.
    ///   - params: the `params` value's JSON text as written, when present.
    /// - Throws: `DispatcherError` naming the schedule and the setting.
    func validate(index: Int, params: String?, names: SettingNames) throws -> Schedule {
        let path = "schedules[\(index)]"
        guard let written = name else { throw DispatcherError("\(names.prefix)\(path): missing 'name'") }
        let label = "\(names.prefix)schedule '\(written)' (\(path))"
        // Every check's message already names its field (`JobInput`'s, the cron parser's).
        func checked<T>(_ body: () throws -> T) throws -> T {
            do {
                return try body()
            } catch {
                throw DispatcherError("\(label): \(error)")
            }
        }
        guard let cron else { throw DispatcherError("\(label): missing 'cron'") }
        guard let method else { throw DispatcherError("\(label): missing 'method'") }
        var schedule = Schedule(
            name: try checked { try Schedule.validateName(written) },
            cron: try checked { try CronExpression(parsing: cron) },
            zone: try checked { try ScheduleZone(identifier: timezone ?? "UTC") },
            method: try checked { try JobInput.validateName(method, field: "method") })
        if let queue { schedule.queue = try checked { try JobInput.validateName(queue, field: "queue") } }
        if self.params != nil { schedule.params = try checked { try JobInput.validateParams(params ?? "") } }
        if let priority { schedule.priority = try checked { try JobInput.validatePriority(priority) } }
        schedule.maxAttempts = try checked { try JobInput.validateMaxAttempts(maxAttempts) }
        if let timeout {
            schedule.timeoutMilliseconds = try checked {
                try JobInput.validateTimeout(try DurationParser.milliseconds(timeout, what: "timeout"))
            }
        }
        if let catchUp {
            guard let mode = Schedule.CatchUp(rawValue: catchUp) else {
                let modes = Schedule.CatchUp.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                throw DispatcherError("\(label): catch_up must be one of \(modes)")
            }
            schedule.catchUp = mode
        }
        return schedule
    }

    /// Every schedule of the file, in order; names must be unique.
    static func validate(
        _ settings: [ScheduleSettings], params: [Int: String], names: SettingNames
    ) throws -> [Schedule] {
        var seen = [String: Int]()
        return try settings.enumerated().map { index, entry in
            let schedule = try entry.validate(index: index, params: params[index], names: names)
            if let first = seen.updateValue(index, forKey: schedule.name) {
                throw DispatcherError(
                    "\(names.prefix)schedule '\(schedule.name)' (schedules[\(index)]): the name is already used by schedules[\(first)]"
                )
            }
            return schedule
        }
    }
}
