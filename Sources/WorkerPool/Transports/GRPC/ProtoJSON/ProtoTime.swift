/// The JSON forms of `google.protobuf.Timestamp` (RFC 3339, always UTC `Z` on output) and
/// `google.protobuf.Duration` (`"1.5s"`), with the ranges the well-known types allow.
///
/// Output uses 0, 3, 6 or 9 fractional digits, as the reference implementations do.
enum ProtoTime {
    /// ±10,000 years, the range of `google.protobuf.Duration`.
    static let maximumDurationSeconds: Int64 = 315_576_000_000

    // MARK: Timestamp

    static func parseTimestamp(_ text: String) -> (seconds: Int64, nanos: Int32)? {
        RFC3339.parse(text)
    }

    static func formatTimestamp(seconds: Int64, nanos: Int32) -> String? {
        RFC3339.format(seconds: seconds, nanos: nanos, fractionDigits: fractionDigits(nanos))
    }

    // MARK: Duration

    static func parseDuration(_ text: String) -> (seconds: Int64, nanos: Int32)? {
        guard text.hasSuffix("s") else { return nil }
        var body = Substring(text.dropLast())
        let negative = body.hasPrefix("-")
        if negative { body = body.dropFirst() }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit), whole.count <= 12,
            let seconds = Int64(whole)
        else { return nil }
        var nanos: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 9, fraction.allSatisfy(\.isASCIIDigit) else { return nil }
            nanos =
                Int64(fraction)!
                * [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000][
                    9 - fraction.count]
        }
        guard seconds <= maximumDurationSeconds else { return nil }
        return negative ? (-seconds, Int32(-nanos)) : (seconds, Int32(nanos))
    }

    static func formatDuration(seconds: Int64, nanos: Int32) -> String? {
        guard abs(seconds) <= maximumDurationSeconds, abs(nanos) < 1_000_000_000,
            seconds == 0 || nanos == 0 || (seconds < 0) == (nanos < 0)
        else { return nil }
        let negative = seconds < 0 || nanos < 0
        return (negative ? "-" : "") + String(abs(seconds)) + fraction(abs(nanos)) + "s"
    }

    // MARK: Helpers

    /// 0, 3, 6 or 9 fractional digits, as the reference implementations write.
    static func fractionDigits(_ nanos: Int32) -> Int {
        if nanos == 0 { return 0 }
        if nanos % 1_000_000 == 0 { return 3 }
        if nanos % 1000 == 0 { return 6 }
        return 9
    }

    private static func fraction(_ nanos: Int32) -> String {
        RFC3339.fraction(nanos, digits: fractionDigits(nanos))
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
