import WorkerPool

/// RFC 3339 timestamps <-> integer milliseconds since the Unix epoch, as the store keeps times
/// (the parsing and the calendar are `RFC3339`'s, shared with the gRPC codec).
enum Timestamp {
    /// Parses `2026-12-01T10:00:00Z`, with optional fractional seconds and a `±HH:MM` offset.
    static func parse(_ text: String) throws -> Int64 {
        guard let (seconds, nanos) = RFC3339.parse(text) else {
            throw DispatcherError("invalid time '\(text)'; expected RFC 3339 such as 2026-12-01T10:00:00Z")
        }
        return seconds * 1000 + Int64(nanos) / 1_000_000
    }

    /// Formats milliseconds as `2026-12-01T10:00:00.000Z` (the number itself outside years
    /// 0001-9999).
    static func format(_ milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let nanos = Int32((milliseconds - seconds * 1000) * 1_000_000)
        return RFC3339.format(seconds: seconds, nanos: nanos, fractionDigits: 3) ?? String(milliseconds)
    }
}
