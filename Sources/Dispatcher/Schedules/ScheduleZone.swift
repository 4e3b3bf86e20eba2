import Foundation

/// An IANA time zone's offsets from UTC, as `CronExpression.nextSlot` takes them.
struct ScheduleZone: Sendable {
    /// The zone's name as configured (`Europe/Berlin`; default `UTC`).
    let identifier: String
    private let zone: TimeZone

    /// - Throws: `DispatcherError` for a name the system's time zone database does not know.
    init(identifier: String = "UTC") throws {
        guard let zone = TimeZone(identifier: identifier) else {
            throw DispatcherError("unknown time zone '\(identifier)' (expected an IANA name such as Europe/Berlin)")
        }
        self.identifier = identifier
        self.zone = zone
    }

    /// The offset from UTC in seconds at `seconds` since the epoch.
    func offset(at seconds: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds))))
    }

    /// The expression's first slot strictly after `instant` (milliseconds) in this zone.
    func nextSlot(of expression: CronExpression, after instant: Int64) -> Int64? {
        expression.nextSlot(after: instant, offsets: offset(at:))
    }
}
