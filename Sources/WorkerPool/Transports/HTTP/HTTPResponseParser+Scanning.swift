/// The byte-level pieces of `HTTPResponseParser`: finding and reading a response head, and
/// reading a chunk size line. All of them work on the readable bytes of one buffer.
extension HTTPResponseParser {
    /// How the body of a final response is delimited.
    enum Framing: Equatable {
        case contentLength(Int)
        case chunked
        case untilClose
    }

    /// What a response head says.
    struct Head {
        var status: Int
        var keepAlive: Bool
        var framing: Framing
        var retryAfter: String?
    }

    /// Finds the blank line that ends a head: `end` is the head's length including it, or nil;
    /// then `resume` is where the next search may start (nothing before it can begin the end).
    /// Lines may end in CRLF or a bare LF (RFC 9112 §2.2 lets a recipient accept either).
    static func findHeadEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (end: Int?, resume: Int) {
        var index = start
        let count = bytes.count
        while index < count {
            if bytes[index] == ASCII.lf {
                guard index + 1 < count else { return (nil, index) }
                let next = bytes[index + 1]
                if next == ASCII.lf { return (index + 2, index) }
                if next == ASCII.cr {
                    guard index + 2 < count else { return (nil, index) }
                    if bytes[index + 2] == ASCII.lf { return (index + 3, index) }
                }
            }
            index += 1
        }
        return (nil, index)
    }

    /// Whether the bytes so far could still begin `HTTP/`.
    static func couldStartStatusLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let prefix: StaticString = "HTTP/"
        let length = min(bytes.count, prefix.utf8CodeUnitCount)
        for index in 0..<length where bytes[index] != prefix.utf8Start[index] {
            return false
        }
        return true
    }

    /// The index of the first LF at or after `start`.
    static func firstLineFeed(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index < bytes.count {
            if bytes[index] == ASCII.lf { return index }
            index += 1
        }
        return nil
    }

    /// Reads a whole head: the status line, then header lines up to and including the blank line.
    static func parseHead(_ bytes: UnsafeRawBufferPointer) -> Result<Head, HTTPResponseParserError> {
        // The head ends with a blank line, so every line here has its LF.
        var lineFeed = firstLineFeed(in: bytes, from: 0)!
        var end = lineEnd(bytes, start: 0, lineFeed: lineFeed)
        guard let statusLine = parseStatusLine(bytes, end: end) else {
            return .failure(HTTPResponseParserError(.malformedStatusLine))
        }
        var connectionClose = false
        var connectionKeepAlive = false
        var contentLength: Int?
        var transferCodings = 0
        var chunked = false
        var retryAfter: String?

        var start = lineFeed + 1
        while true {
            lineFeed = firstLineFeed(in: bytes, from: start)!
            end = lineEnd(bytes, start: start, lineFeed: lineFeed)
            if end == start { break }
            let first = bytes[start]
            if first == ASCII.space || first == ASCII.tab {
                return .failure(HTTPResponseParserError(.obsoleteLineFolding))
            }
            var colon = start
            while colon < end, isTokenCharacter(bytes[colon]) { colon += 1 }
            guard colon > start, colon < end, bytes[colon] == ASCII.colon else {
                return .failure(HTTPResponseParserError(.malformedHeader))
            }
            var valueStart = colon + 1
            var valueEnd = end
            while valueStart < valueEnd, isWhitespace(bytes[valueStart]) { valueStart += 1 }
            while valueEnd > valueStart, isWhitespace(bytes[valueEnd - 1]) { valueEnd -= 1 }
            for index in valueStart..<valueEnd where isControlCharacter(bytes[index]) {
                return .failure(HTTPResponseParserError(.malformedHeader))
            }
            let name = UnsafeRawBufferPointer(rebasing: bytes[start..<colon])
            let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])

            if name.equalsIgnoringCase("content-length") {
                guard let length = parseContentLength(value), contentLength == nil || contentLength == length else {
                    return .failure(HTTPResponseParserError(.invalidContentLength))
                }
                contentLength = length
            } else if name.equalsIgnoringCase("transfer-encoding") {
                value.forEachListElement { coding in
                    transferCodings += 1
                    chunked = coding.equalsIgnoringCase("chunked")
                }
            } else if name.equalsIgnoringCase("connection") {
                value.forEachListElement { option in
                    if option.equalsIgnoringCase("close") {
                        connectionClose = true
                    } else if option.equalsIgnoringCase("keep-alive") {
                        connectionKeepAlive = true
                    }
                }
            } else if retryAfter == nil, name.equalsIgnoringCase("retry-after") {
                retryAfter = String(decoding: value, as: UTF8.self)
            }
            start = lineFeed + 1
        }

        let framing: Framing
        if transferCodings > 0 {
            // Only a single `chunked` can be read: nothing here decodes compression, and RFC
            // 9112 §6.1 forbids chunking twice.
            guard transferCodings == 1, chunked else {
                return .failure(HTTPResponseParserError(.unsupportedTransferCoding))
            }
            // RFC 9112 §6.3 lets the encoding win, but a message with both may be an attempt
            // at response splitting: refuse it, as llhttp does.
            guard contentLength == nil else { return .failure(HTTPResponseParserError(.conflictingFraming)) }
            framing = .chunked
        } else if let contentLength {
            framing = .contentLength(contentLength)
        } else {
            framing = .untilClose
        }
        let keepAlive = !connectionClose && (statusLine.isHTTP11 || connectionKeepAlive)
        return .success(
            Head(status: statusLine.status, keepAlive: keepAlive, framing: framing, retryAfter: retryAfter))
    }

    /// `HTTP/1.0` or `HTTP/1.1`, a space, three digits, then nothing or a space and a reason
    /// phrase without control characters. Returns whether it is 1.1, and the status.
    private static func parseStatusLine(
        _ bytes: UnsafeRawBufferPointer, end: Int
    ) -> (isHTTP11: Bool, status: Int)? {
        guard end >= 12, couldStartStatusLine(bytes), bytes[5] == UInt8(ascii: "1"), bytes[6] == UInt8(ascii: "."),
            bytes[7] == UInt8(ascii: "0") || bytes[7] == UInt8(ascii: "1"), bytes[8] == ASCII.space,
            end == 12 || bytes[12] == ASCII.space
        else { return nil }
        var status = 0
        for index in 9..<12 {
            let digit = bytes[index]
            guard digit >= ASCII.zero, digit <= ASCII.nine else { return nil }
            status = status * 10 + Int(digit - ASCII.zero)
        }
        guard status >= 100 else { return nil }
        if end > 13 {
            for index in 13..<end where isControlCharacter(bytes[index]) { return nil }
        }
        return (bytes[7] == UInt8(ascii: "1"), status)
    }

    /// Where the line ending at `lineFeed` ends without its line end (CRLF or LF).
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer, start: Int, lineFeed: Int) -> Int {
        lineFeed > start && bytes[lineFeed - 1] == ASCII.cr ? lineFeed - 1 : lineFeed
    }

    /// A decimal length, or a list of identical ones (RFC 9110 §8.6 lets a recipient accept
    /// `5, 5`); nil for anything else.
    private static func parseContentLength(_ value: UnsafeRawBufferPointer) -> Int? {
        var length: Int?
        var elements = 0
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count, value[end] != ASCII.comma { end += 1 }
            var first = start
            var last = end
            while first < last, isWhitespace(value[first]) { first += 1 }
            while last > first, isWhitespace(value[last - 1]) { last -= 1 }
            // At most 18 digits, so the value cannot overflow.
            guard last > first, last - first <= 18 else { return nil }
            var element = 0
            for index in first..<last {
                let digit = value[index]
                guard digit >= ASCII.zero, digit <= ASCII.nine else { return nil }
                element = element * 10 + Int(digit - ASCII.zero)
            }
            guard length == nil || length == element else { return nil }
            length = element
            elements += 1
            start = end + 1
        }
        return elements > 0 ? length : nil
    }

    /// What a chunk size line holds, if it is all there.
    enum ChunkSizeLine {
        case incomplete
        case invalid
        /// The chunk's size, and the line's length including its line end.
        case size(Int, length: Int)
    }

    /// `1*HEXDIG [ BWS ";" extensions ] CRLF`; extensions are skipped but may not hold control
    /// characters. A wrong byte is refused as soon as it arrives, before the line end.
    static func parseChunkSizeLine(_ bytes: UnsafeRawBufferPointer) -> ChunkSizeLine {
        var size = 0
        var digits = 0
        var index = 0
        while index < bytes.count, let value = hexValue(bytes[index]) {
            digits += 1
            // Fifteen hex digits stay below Int.max.
            guard digits <= 15 else { return .invalid }
            size = size << 4 | value
            index += 1
        }
        guard index < bytes.count else { return .incomplete }
        guard digits > 0 else { return .invalid }
        while index < bytes.count, isWhitespace(bytes[index]) { index += 1 }
        guard index < bytes.count else { return .incomplete }
        if bytes[index] == ASCII.semicolon {
            index += 1
            while index < bytes.count, bytes[index] != ASCII.cr, bytes[index] != ASCII.lf {
                guard !isControlCharacter(bytes[index]) else { return .invalid }
                index += 1
            }
            guard index < bytes.count else { return .incomplete }
        }
        if bytes[index] == ASCII.cr {
            index += 1
            guard index < bytes.count else { return .incomplete }
        }
        guard bytes[index] == ASCII.lf else { return .invalid }
        return .size(size, length: index + 1)
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == ASCII.space || byte == ASCII.tab
    }

    /// Control characters other than HTAB, which may not appear in a field value (RFC 9110 §5.5).
    static func isControlCharacter(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != ASCII.tab) || byte == 0x7F
    }

    /// `tchar` of RFC 9110 §5.6.2: the characters of a header name.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes spell `lowercased` in any letter case. `lowercased` must be lower-case
    /// letters and `-`; the bytes compared hold no control characters (names are tokens, values
    /// are checked), so setting the 0x20 bit folds letters and nothing else onto them.
    fileprivate func equalsIgnoringCase(_ lowercased: StaticString) -> Bool {
        guard count == lowercased.utf8CodeUnitCount else { return false }
        let expected = lowercased.utf8Start
        for index in 0..<count where self[index] | 0x20 != expected[index] {
            return false
        }
        return true
    }

    /// Calls `body` with each element of a comma-separated list value, trimmed, empty ones
    /// skipped (no array: this runs for every response that has such a header).
    fileprivate func forEachListElement(_ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        while start < count {
            var end = start
            while end < count, self[end] != ASCII.comma { end += 1 }
            var first = start
            var last = end
            while first < last, HTTPResponseParser.isWhitespace(self[first]) { first += 1 }
            while last > first, HTTPResponseParser.isWhitespace(self[last - 1]) { last -= 1 }
            if last > first { body(UnsafeRawBufferPointer(rebasing: self[first..<last])) }
            start = end + 1
        }
    }
}
