/// Parses and formats the CLI's durations: `500ms`, `30s`, `5m`, `2h`, `7d`, `1.5s`.
enum DurationParser {
    /// Returns the duration in milliseconds; `what` names the flag in error messages.
    static func milliseconds(_ text: String, what: String) throws -> Int64 {
        let units: [(suffix: String, factor: Double)] = [
            ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
        ]
        let trimmed = text.trimmingSpaces()
        if trimmed.hasPrefix("-") {
            throw DispatcherError("\(what) must not be negative (got '\(text)')")
        }
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            let number = trimmed.dropLast(unit.suffix.count)
            // "5ms" also ends in "s"; the ms unit is tried first, so "5m" from "5ms" never matches.
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                let value = Double(number), value.isFinite, value * unit.factor < 1e15
            else { break }
            return Int64((value * unit.factor).rounded())
        }
        throw DispatcherError("invalid \(what) '\(text)'; expected a number with a unit: ms, s, m, h or d (e.g. 30s)")
    }

    /// Formats milliseconds compactly for people: `850ms`, `12.3s`, `4m05s`, `3h12m`, `2d04h`.
    static func format(milliseconds value: Int64) -> String {
        switch value {
        case ..<1000: return "\(value)ms"
        case ..<60_000:
            let tenths = value / 100
            return "\(tenths / 10).\(tenths % 10)s"
        case ..<3_600_000: return "\(value / 60_000)m\(twoDigits(value / 1000 % 60))s"
        case ..<86_400_000: return "\(value / 3_600_000)h\(twoDigits(value / 60_000 % 60))m"
        default: return "\(value / 86_400_000)d\(twoDigits(value / 3_600_000 % 24))h"
        }
    }

    private static func twoDigits(_ value: Int64) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}

extension String {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return String(slice)
    }
}
