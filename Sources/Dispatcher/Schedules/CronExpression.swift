import WorkerPool

/// When a schedule fires: a five-field cron expression in a time zone, or a fixed interval.
///
/// | form                          | slots                                                              |
/// |-------------------------------|--------------------------------------------------------------------|
/// | `m h dom mon dow`             | every local minute whose fields match (lists, ranges, steps, names) |
/// | `@hourly` `@daily` `@weekly` `@monthly` `@yearly` | `0 * * * *`, `0 0 * * *`, `0 0 * * 0`, `0 0 1 * *`, `0 0 1 1 *` |
/// | `@every 30s`                  | whole multiples of the interval since the Unix epoch (time zone ignored) |
///
/// Day of month and day of week follow Vixie cron: when both are restricted, a day matches if
/// either does. Daylight saving time, for the local time a cron expression names: a local time
/// that does not exist (clocks jump forward over it) is skipped; one that happens twice (clocks
/// fall back) fires once, at its first occurrence.
///
/// Pure: `nextSlot(after:offsets:)` takes the zone's UTC offsets as a function, so every daemon
/// computes the same slots from the same instant, and tests need no clock.
struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        case fields(CronFields)
        /// The interval in milliseconds.
        case every(Int64)
    }

    let kind: Kind
    /// The expression as written.
    let description: String

    /// The first slot strictly after `instant`, in milliseconds since the epoch; nil when the
    /// expression matches no time in the next eight years (`0 0 30 2 *`).
    ///
    /// - Parameter offsets: the zone's offset from UTC, in seconds, at an instant given in
    ///   seconds since the epoch.
    func nextSlot(after instant: Int64, offsets: (Int64) -> Int64) -> Int64? {
        switch kind {
        case .every(let interval):
            return (Self.floorDivide(instant, interval) + 1) * interval
        case .fields(let fields):
            return fields.nextSlot(after: instant, offsets: offsets)
        }
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }
}

/// The five fields of a cron expression, each as the set of values it matches.
struct CronFields: Sendable, Equatable {
    /// Bit i set: minute i (0–59) matches.
    var minutes: UInt64
    /// Bit i: hour i (0–23).
    var hours: UInt32
    /// Bit i: day of month i (1–31).
    var daysOfMonth: UInt32
    /// Bit i: month i (1–12).
    var months: UInt16
    /// Bit i: weekday i (0 = Sunday … 6).
    var daysOfWeek: UInt8
    /// Whether the day-of-month and day-of-week fields were `*` (then only the other decides).
    var anyDayOfMonth: Bool
    var anyDayOfWeek: Bool

    /// Whether a civil day matches the day fields and the month.
    func matches(_ day: CivilDate) -> Bool {
        guard months & (1 << day.month) != 0 else { return false }
        let byMonthDay = daysOfMonth & (1 << day.day) != 0
        let byWeekday = daysOfWeek & (1 << day.weekday) != 0
        switch (anyDayOfMonth, anyDayOfWeek) {
        case (true, true): return true
        case (false, true): return byMonthDay
        case (true, false): return byWeekday
        case (false, false): return byMonthDay || byWeekday
        }
    }

    /// Days searched before giving up: eight years covers every leap-day and weekday combination.
    static let searchDays: Int64 = 366 * 8

    func nextSlot(after instant: Int64, offsets: (Int64) -> Int64) -> Int64? {
        let seconds = CronExpression.floorDivide(instant, 1000)
        // Local wall-clock seconds of the instant; candidates are whole local minutes after it.
        let local = seconds + offsets(seconds)
        let firstDay = CronExpression.floorDivide(local, 86_400)
        for dayNumber in firstDay..<(firstDay + Self.searchDays) {
            let day = CivilDate(daysSinceEpoch: dayNumber)
            guard matches(day) else { continue }
            for hour in 0..<24 where hours & (1 << hour) != 0 {
                for minute in 0..<60 where minutes & (1 << minute) != 0 {
                    let wall = dayNumber * 86_400 + Int64(hour * 3600 + minute * 60)
                    // Skipping wall times before the instant's own keeps the search short; the
                    // strict check below is on real instants.
                    guard wall + 7200 > local else { continue }
                    guard let slot = Self.firstInstant(ofWall: wall, offsets: offsets), slot * 1000 > instant else {
                        continue
                    }
                    return slot * 1000
                }
            }
        }
        return nil
    }

    /// The first instant (seconds) whose local wall time is `wall`, or nil when that local time
    /// does not exist. The zone's offsets a day either side bound any one transition.
    static func firstInstant(ofWall wall: Int64, offsets: (Int64) -> Int64) -> Int64? {
        var best: Int64?
        for offset in [offsets(wall - 86_400), offsets(wall), offsets(wall + 86_400)] {
            let candidate = wall - offset
            guard offsets(candidate) == offset else { continue }
            best = min(best ?? candidate, candidate)
        }
        return best
    }
}

/// A civil date (proleptic Gregorian, `RFC3339.civilFromDays`) with its weekday.
struct CivilDate: Equatable {
    var year: Int64
    /// 1–12.
    var month: Int
    /// 1–31.
    var day: Int
    /// 0 = Sunday … 6 = Saturday.
    var weekday: Int

    init(daysSinceEpoch days: Int64) {
        let (year, month, day) = RFC3339.civilFromDays(days)
        self.year = year
        self.month = Int(month)
        self.day = Int(day)
        // 1970-01-01 was a Thursday.
        weekday = Int(((days % 7) + 11) % 7)
    }
}
