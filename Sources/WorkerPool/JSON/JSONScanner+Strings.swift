extension JSONScanner {
    /// Decodes the string value at `range` (including its quotes) of an already validated text.
    public static func decodeString(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws(JSONError) -> String {
        var scanner = JSONScanner(UnsafeRawBufferPointer(rebasing: bytes[range]))
        guard scanner.peek() == UInt8(ascii: "\"") else {
            throw JSONError(message: "expected a string", offset: range.lowerBound)
        }
        return try scanner.readString()
    }

    /// Decodes the integer value at `range`, or returns nil when it is not an integer that fits
    /// in 64 bits.
    public static func decodeInteger(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int64? {
        var value: Int64 = 0
        var negative = false
        var index = range.lowerBound
        if index < range.upperBound, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < range.upperBound else { return nil }
        while index < range.upperBound {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (multiplied, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (added, overflow2) = multiplied.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = added
            index += 1
        }
        return negative ? -value : value
    }

    /// Whether the value at `range` is the literal `null`.
    public static func isNull(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        range.count == 4 && bytes[range.lowerBound] == UInt8(ascii: "n")
    }

    /// Turns the content of a string (between its quotes) with escapes into a `String`.
    static func unescape(_ content: UnsafeRawBufferPointer) -> String {
        var scalars = String.UnicodeScalarView()
        var utf8 = [UInt8]()
        var index = 0
        func flush() {
            if !utf8.isEmpty {
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                utf8.removeAll(keepingCapacity: true)
            }
        }
        func readHex(_ at: Int) -> UInt32 {
            var value: UInt32 = 0
            for offset in 0..<4 where at + offset < content.count {
                value = value << 4 | (hexValue(content[at + offset]) ?? 0)
            }
            return value
        }
        while index < content.count {
            let byte = content[index]
            guard byte == UInt8(ascii: "\\"), index + 1 < content.count else {
                utf8.append(byte)
                index += 1
                continue
            }
            let kind = content[index + 1]
            index += 2
            switch kind {
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var code = readHex(index)
                index += 4
                // A high surrogate followed by an escaped low surrogate forms one scalar;
                // a lone surrogate becomes U+FFFD, as in most JSON decoders.
                if (0xD800..<0xDC00).contains(code), index + 6 <= content.count,
                    content[index] == UInt8(ascii: "\\"), content[index + 1] == UInt8(ascii: "u")
                {
                    let low = readHex(index + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    }
                }
                flush()
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            default: utf8.append(kind)
            }
        }
        flush()
        return String(scalars)
    }
}
