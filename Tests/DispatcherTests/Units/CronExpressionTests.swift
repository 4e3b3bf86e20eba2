import Foundation
import Testing

@testable import Dispatcher

/// The cron parser and the next-slot calculator: pure, table by table, and against a brute-force
/// minute walk.
@Suite("cron expressions and their slots")
struct CronExpressionTests {
    /// Milliseconds since the epoch of a UTC wall time.
    static func utc(_ text: String) -> Int64 {
        try! Timestamp.parse(text)
    }

    static func slots(_ cron: String, zone: String = "UTC", after start: String, count: Int) throws -> [String] {
        let expression = try CronExpression(parsing: cron)
        let zone = try ScheduleZone(identifier: zone)
        var instant = utc(start)
        var result = [String]()
        for _ in 0..<count {
            guard let next = zone.nextSlot(of: expression, after: instant) else { break }
            result.append(Timestamp.format(next))
            instant = next
        }
        return result
    }

    @Test(arguments: [
        ("*/15 9-17 * * MON-FRI", "2026-12-04T17:40:00Z", ["2026-12-04T17:45:00.000Z", "2026-12-07T09:00:00.000Z"]),
        ("0 3 * * *", "2026-12-07T03:00:00Z", ["2026-12-08T03:00:00.000Z", "2026-12-09T03:00:00.000Z"]),
        (
            "5,10 0 1 jan,Jul *", "2026-06-30T00:00:00Z",
            ["2026-07-01T00:05:00.000Z", "2026-07-01T00:10:00.000Z", "2027-01-01T00:05:00.000Z"]
        ),
        ("0 0 31 * *", "2026-01-31T00:00:00Z", ["2026-03-31T00:00:00.000Z", "2026-05-31T00:00:00.000Z"]),
        ("0 12 29 2 *", "2026-01-01T00:00:00Z", ["2028-02-29T12:00:00.000Z", "2032-02-29T12:00:00.000Z"]),
        ("0 0 13 * 5", "2026-02-01T00:00:00Z", ["2026-02-06T00:00:00.000Z", "2026-02-13T00:00:00.000Z"]),
        ("30 8 * * 7", "2026-12-07T00:00:00Z", ["2026-12-13T08:30:00.000Z"]),
        (
            "10/20 * * * *", "2026-12-07T00:00:00Z",
            [
                "2026-12-07T00:10:00.000Z", "2026-12-07T00:30:00.000Z", "2026-12-07T00:50:00.000Z",
                "2026-12-07T01:10:00.000Z",
            ]
        ),
        (
            "1-10/4 0 * * *", "2026-12-07T00:00:00Z",
            [
                "2026-12-07T00:01:00.000Z", "2026-12-07T00:05:00.000Z", "2026-12-07T00:09:00.000Z",
                "2026-12-08T00:01:00.000Z",
            ]
        ),
        ("@hourly", "2026-12-07T10:59:59Z", ["2026-12-07T11:00:00.000Z"]),
        ("@daily", "2026-12-31T23:00:00Z", ["2027-01-01T00:00:00.000Z"]),
        ("@weekly", "2026-12-07T00:00:00Z", ["2026-12-13T00:00:00.000Z"]),
        ("@monthly", "2026-12-07T00:00:00Z", ["2027-01-01T00:00:00.000Z"]),
        ("@yearly", "2026-12-07T00:00:00Z", ["2027-01-01T00:00:00.000Z"]),
        ("@every 30s", "2026-12-07T00:00:10Z", ["2026-12-07T00:00:30.000Z", "2026-12-07T00:01:00.000Z"]),
        ("@every 1.5s", "1970-01-01T00:00:00Z", ["1970-01-01T00:00:01.500Z", "1970-01-01T00:00:03.000Z"]),
    ])
    func everyFieldFormFindsItsSlots(cron: String, start: String, expected: [String]) throws {
        #expect(try Self.slots(cron, after: start, count: expected.count) == expected)
    }

    @Test func daylightSavingTimeSkipsWhatDoesNotExistAndFiresOnceForWhatRepeats() throws {
        // Berlin: 2026-03-29 02:00 → 03:00 (no 02:30); 2026-10-25 03:00 → 02:00 (02:30 twice).
        #expect(
            try Self.slots("30 2 * * *", zone: "Europe/Berlin", after: "2026-03-27T12:00:00Z", count: 2)
                == ["2026-03-28T01:30:00.000Z", "2026-03-30T00:30:00.000Z"])
        #expect(
            try Self.slots("30 2 * * *", zone: "Europe/Berlin", after: "2026-10-24T12:00:00Z", count: 2)
                == ["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"])
        // New York: 2026-03-08 02:00 → 03:00; 2026-11-01 02:00 → 01:00 (01:30 twice).
        #expect(
            try Self.slots("30 2 * * *", zone: "America/New_York", after: "2026-03-07T12:00:00Z", count: 2)
                == ["2026-03-09T06:30:00.000Z", "2026-03-10T06:30:00.000Z"])
        #expect(
            try Self.slots("*/30 1 * * *", zone: "America/New_York", after: "2026-11-01T04:00:00Z", count: 3)
                == ["2026-11-01T05:00:00.000Z", "2026-11-01T05:30:00.000Z", "2026-11-02T06:00:00.000Z"])
        // Asked during the second 01:xx, the repeated times are already past.
        #expect(
            try Self.slots("45 1 * * *", zone: "America/New_York", after: "2026-11-01T06:10:00Z", count: 1)
                == ["2026-11-02T06:45:00.000Z"])
        // An interval ignores the zone.
        #expect(
            try Self.slots("@every 1h", zone: "Europe/Berlin", after: "2026-03-29T00:30:00Z", count: 2)
                == ["2026-03-29T01:00:00.000Z", "2026-03-29T02:00:00.000Z"])
    }

    @Test(arguments: [
        ("60 * * * *", "out of range"), ("* 24 * * *", "out of range"), ("* * 0 * *", "out of range"),
        ("* * * 13 *", "out of range"), ("* * * * 8", "out of range"), ("* * * *", "5 fields"),
        ("* * * * * *", "5 fields"), ("@every 0s", "at least 1s"), ("@every 500ms", "at least 1s"),
        ("@every", "needs an interval"), ("@sometimes", "unknown cron macro"), ("*/0 * * * *", "step"),
        ("5-1 * * * *", "backwards"), ("a * * * *", "not a number"), ("* * * FOO *", "not a number or a name"),
        ("1,,2 * * * *", "empty list item"),
    ])
    func badExpressionsSayWhatIsWrong(cron: String, says: String) {
        do {
            _ = try CronExpression(parsing: cron)
            Issue.record("'\(cron)' was accepted")
        } catch {
            #expect("\(error)".contains(says), "\(cron): \(error)")
        }
    }

    @Test func anExpressionThatNeverMatchesHasNoSlot() throws {
        let never = try CronExpression(parsing: "0 0 30 2 *")
        #expect(try ScheduleZone().nextSlot(of: never, after: 0) == nil)
        #expect(throws: DispatcherError.self) { try ScheduleZone(identifier: "Mars/Olympus_Mons") }
    }

    /// The brute force: every UTC minute of two years, kept when its local wall time matches and
    /// no earlier instant of the last two hours had the same wall time (the second pass of a
    /// repeated hour).
    static func bruteForce(_ fields: CronFields, zone: ScheduleZone, from start: Int64, minutes: Int64) -> [Int64] {
        var slots = [Int64]()
        var offsetCache = [Int64: Int64]()
        func offset(_ seconds: Int64) -> Int64 {
            let hour = CronExpression.floorDivide(seconds, 3600)
            if let cached = offsetCache[hour] { return cached }
            let value = zone.offset(at: hour * 3600)
            offsetCache[hour] = value
            return value
        }
        var seenWalls = [Int64: Int64]()
        for index in 1...minutes {
            let seconds = start / 1000 + index * 60
            let wall = seconds + offset(seconds)
            if let earlier = seenWalls[wall], seconds - earlier <= 7200 { continue }
            seenWalls[wall] = seconds
            let day = CivilDate(daysSinceEpoch: CronExpression.floorDivide(wall, 86_400))
            let secondOfDay = wall - CronExpression.floorDivide(wall, 86_400) * 86_400
            let hour = Int(secondOfDay / 3600)
            let minute = Int(secondOfDay / 60 % 60)
            if fields.matches(day), fields.hours & (1 << hour) != 0, fields.minutes & (1 << minute) != 0 {
                slots.append(seconds * 1000)
            }
        }
        return slots
    }

    @Test(arguments: [
        ("30 2 * * *", "Europe/Berlin"), ("*/20 1-3 * * *", "America/New_York"), ("0 0 29 2 *", "UTC"),
        ("15 4 1,15 * MON", "Europe/Berlin"), ("0 */6 * JAN-MAR SAT,SUN", "America/New_York"),
        ("59 23 31 * *", "UTC"),
    ])
    func nextSlotAgreesWithAMinuteWalkOverTwoYears(cron: String, zone: String) throws {
        let expression = try CronExpression(parsing: cron)
        guard case .fields(let fields) = expression.kind else {
            Issue.record("not a field expression")
            return
        }
        let zone = try ScheduleZone(identifier: zone)
        // Two years that hold a 29 February and both zones' transitions.
        let start = Self.utc("2027-06-01T00:00:00Z")
        let minutes: Int64 = 2 * 366 * 24 * 60
        let expected = Self.bruteForce(fields, zone: zone, from: start, minutes: minutes)
        var computed = [Int64]()
        var instant = start
        while let next = zone.nextSlot(of: expression, after: instant), next <= start + minutes * 60_000 {
            computed.append(next)
            instant = next
        }
        #expect(!expected.isEmpty)
        #expect(
            computed == expected, "\(cron) in \(zone.identifier): \(computed.count) slots against \(expected.count)")
    }
}
