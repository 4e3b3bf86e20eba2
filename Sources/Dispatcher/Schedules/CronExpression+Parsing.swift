extension CronExpression {
    /// Parses `m h dom mon dow`, a macro (`@hourly` … `@yearly`) or `@every DURATION` (at least 1s).
    ///
    /// Each field is `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from a to the
    /// field's end), or a comma-separated list of those; months and weekdays take names
    /// (`JAN`–`DEC`, `SUN`–`SAT`, any case), and weekday 7 is Sunday too.
    ///
    /// - Throws: `DispatcherError` saying which field is wrong and why.
    init(parsing text: String) throws {
        let trimmed = text.trimmingSpaces()
        description = trimmed
        if trimmed.hasPrefix("@every") {
            let interval = String(trimmed.dropFirst("@every".count)).trimmingSpaces()
            guard !interval.isEmpty else { throw DispatcherError("@every needs an interval (e.g. @every 30s)") }
            let milliseconds = try DurationParser.milliseconds(interval, what: "@every interval")
            guard milliseconds >= 1000 else {
                throw DispatcherError("@every interval must be at least 1s (got '\(interval)')")
            }
            kind = .every(milliseconds)
            return
        }
        let macros = [
            "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
            "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
        ]
        let expression: String
        if trimmed.hasPrefix("@") {
            guard let expanded = macros[trimmed.lowercased()] else {
                throw DispatcherError(
                    "unknown cron macro '\(trimmed)'; expected @hourly, @daily, @weekly, @monthly, @yearly or @every")
            }
            expression = expanded
        } else {
            expression = trimmed
        }
        let parts = expression.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 5 else {
            throw DispatcherError(
                "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got \(parts.count)")
        }
        let minutes = try Self.field(parts[0], name: "minute", range: 0...59)
        let hours = try Self.field(parts[1], name: "hour", range: 0...23)
        let days = try Self.field(parts[2], name: "day of month", range: 1...31)
        let months = try Self.field(parts[3], name: "month", range: 1...12, names: Self.monthNames, firstName: 1)
        var weekdays = try Self.field(parts[4], name: "day of week", range: 0...7, names: Self.dayNames, firstName: 0)
        // 7 is Sunday as well.
        if weekdays & (1 << 7) != 0 { weekdays = (weekdays | 1) & ~(1 << 7) }
        kind = .fields(
            CronFields(
                minutes: minutes, hours: UInt32(hours), daysOfMonth: UInt32(days), months: UInt16(months),
                daysOfWeek: UInt8(weekdays), anyDayOfMonth: parts[2] == "*", anyDayOfWeek: parts[4] == "*"))
    }

    private static let monthNames = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ]
    private static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    /// One field's values as a bit set.
    private static func field(
        _ text: Substring, name: String, range: ClosedRange<Int>, names: [String] = [], firstName: Int = 0
    ) throws -> UInt64 {
        func value(_ part: Substring) throws -> Int {
            if let number = Int(part) {
                guard range.contains(number) else {
                    throw DispatcherError(
                        "cron \(name) \(number) is out of range \(range.lowerBound)-\(range.upperBound)")
                }
                return number
            }
            if let index = names.firstIndex(of: part.uppercased()) { return index + firstName }
            throw DispatcherError("cron \(name) '\(part)' is not a number\(names.isEmpty ? "" : " or a name")")
        }
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw DispatcherError("cron \(name) has an empty list item") }
            let pieces = item.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw DispatcherError("cron \(name) '\(item)' has more than one step") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed >= 1, parsed <= range.upperBound else {
                    throw DispatcherError("cron \(name) step '\(pieces[1])' must be between 1 and \(range.upperBound)")
                }
                step = parsed
            }
            let base = pieces[0]
            var low: Int
            var high: Int
            if base == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                low = try value(base[..<dash])
                high = try value(base[base.index(after: dash)...])
                guard low <= high else { throw DispatcherError("cron \(name) range '\(base)' runs backwards") }
            } else {
                low = try value(base)
                // `a/n` steps from a to the field's end.
                high = pieces.count == 2 ? range.upperBound : low
            }
            for number in stride(from: low, through: high, by: step) { bits |= 1 << UInt64(number) }
        }
        return bits
    }
}
