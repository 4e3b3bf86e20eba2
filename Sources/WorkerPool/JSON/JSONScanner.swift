/// A validating JSON scanner that works on raw UTF-8 bytes and never builds a document tree.
///
/// Job parameters and upstream results are stored and forwarded as the exact bytes the user or
/// the upstream sent; the dispatcher only needs to know that they are valid JSON and where the
/// members of an envelope object (`method`, `params`, `result`, `error`, `id`) begin and end.
/// Decoding into `Codable` types and re-encoding would cost several times more per job and
/// could reorder keys, so this scanner validates (RFC 8259) and reports byte ranges instead.
public struct JSONScanner {
    /// Nesting deeper than this is rejected, so hostile input cannot exhaust the stack.
    public static let maximumDepth = 512

    let bytes: UnsafeRawBufferPointer
    var index: Int

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.index = 0
    }

    /// Validates that `bytes` hold exactly one JSON value (surrounding white space allowed) and
    /// returns the byte range of that value.
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws(JSONError) -> Range<Int> {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        let start = scanner.index
        try scanner.skipValue(depth: 0)
        let end = scanner.index
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else {
            throw scanner.error("unexpected data after the JSON value")
        }
        return start..<end
    }

    /// Validates a JSON object and calls `member` with each key and the byte range of its value.
    ///
    /// The whole text is validated, including members `member` does not look at.
    public static func scanObject(
        _ bytes: UnsafeRawBufferPointer,
        _ member: (_ key: String, _ value: Range<Int>) throws -> Void
    ) throws {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        guard scanner.peek() == UInt8(ascii: "{") else {
            throw scanner.error("expected a JSON object")
        }
        scanner.index += 1
        try scanner.scanWholeContainer(closing: UInt8(ascii: "}"), kind: "object") { scanner in
            let key = try scanner.readString()
            try scanner.skipColon()
            let start = scanner.index
            try scanner.skipValue(depth: 1)
            try member(key, start..<scanner.index)
        }
    }

    /// Validates a JSON array and calls `element` with the byte range of each of its values.
    public static func scanArray(
        _ bytes: UnsafeRawBufferPointer, _ element: (_ value: Range<Int>) throws -> Void
    ) throws {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        try scanner.expect(UInt8(ascii: "["))
        try scanner.scanWholeContainer(closing: UInt8(ascii: "]"), kind: "array") { scanner in
            let start = scanner.index
            try scanner.skipValue(depth: 1)
            try element(start..<scanner.index)
        }
    }

    /// After the opening byte of the top-level object or array: `item` reads each of its
    /// comma-separated items (the scanner at the item's first byte), then the closing byte, and
    /// nothing but white space may follow.
    private mutating func scanWholeContainer(
        closing: UInt8, kind: String, _ item: (inout JSONScanner) throws -> Void
    ) throws {
        if enterContainer(closing: closing) {
            repeat {
                try item(&self)
            } while try nextItem(closing: closing)
        }
        skipWhitespace()
        guard index == bytes.count else {
            throw error("unexpected data after the JSON \(kind)")
        }
    }

    // MARK: Containers

    /// After a container's opening byte: skips white space, and the closing byte of an empty
    /// container. Whether an item follows (the scanner at its first byte).
    mutating func enterContainer(closing: UInt8) -> Bool {
        skipWhitespace()
        guard peek() == closing else { return true }
        index += 1
        return false
    }

    /// After an item: skips white space and then the comma before the next item (true, the
    /// scanner at that item) or the container's closing byte (false); anything else is an error.
    mutating func nextItem(closing: UInt8) throws(JSONError) -> Bool {
        skipWhitespace()
        guard peek() == UInt8(ascii: ",") else {
            try expect(closing)
            return false
        }
        index += 1
        skipWhitespace()
        return true
    }

    /// After a member's key: the colon and the white space around it.
    mutating func skipColon() throws(JSONError) {
        skipWhitespace()
        try expect(UInt8(ascii: ":"))
        skipWhitespace()
    }

    // MARK: Reading values

    mutating func skipValue(depth: Int) throws(JSONError) {
        guard depth <= Self.maximumDepth else { throw error("JSON nested deeper than \(Self.maximumDepth) levels") }
        guard let byte = peek() else { throw error("unexpected end of JSON") }
        switch byte {
        case UInt8(ascii: "{"):
            index += 1
            guard enterContainer(closing: UInt8(ascii: "}")) else { return }
            repeat {
                try skipString()
                try skipColon()
                try skipValue(depth: depth + 1)
            } while try nextItem(closing: UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            index += 1
            guard enterContainer(closing: UInt8(ascii: "]")) else { return }
            repeat {
                try skipValue(depth: depth + 1)
            } while try nextItem(closing: UInt8(ascii: "]"))
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "t"):
            try expectLiteral("true")
        case UInt8(ascii: "f"):
            try expectLiteral("false")
        case UInt8(ascii: "n"):
            try expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try skipNumber()
        default:
            throw error("unexpected character '\(Unicode.Scalar(byte))'")
        }
    }

    mutating func skipNumber() throws(JSONError) {
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), isDigit(first) else { throw error("invalid number") }
        index += 1
        if first != UInt8(ascii: "0") {
            while let byte = peek(), isDigit(byte) { index += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard let byte = peek(), isDigit(byte) else { throw error("invalid number") }
            while let byte = peek(), isDigit(byte) { index += 1 }
        }
        if let byte = peek(), byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            index += 1
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { index += 1 }
            guard let byte = peek(), isDigit(byte) else { throw error("invalid number") }
            while let byte = peek(), isDigit(byte) { index += 1 }
        }
    }

    /// Skips a string, validating escapes; returns whether it contained any escape.
    @discardableResult
    mutating func skipString() throws(JSONError) -> Bool {
        try expect(UInt8(ascii: "\""))
        var escaped = false
        while index < bytes.count {
            // Most bytes of a string are plain: skip runs of them with a local index, which the
            // optimizer keeps in a register (the stored `index` is written back once per run).
            var plain = index
            let end = bytes.count
            while plain < end {
                let byte = bytes[plain]
                guard byte >= 0x20, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else { break }
                plain += 1
            }
            index = plain
            guard index < end else { break }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return escaped
            case UInt8(ascii: "\\"):
                escaped = true
                index += 1
                guard let next = peek() else { throw error("unterminated string") }
                switch next {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    index += 1
                    for _ in 0..<4 {
                        guard let hex = peek(), hexValue(hex) != nil else { throw error("invalid \\u escape") }
                        index += 1
                    }
                default:
                    throw error("invalid escape in string")
                }
            default:
                // The run above stops only at a quote, a backslash or a control character.
                throw error("control character in string")
            }
        }
        throw error("unterminated string")
    }

    /// Reads a string value, decoding its escapes.
    mutating func readString() throws(JSONError) -> String {
        let start = index
        let escaped = try skipString()
        let content = UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<(index - 1)])
        if !escaped {
            return String(decoding: content, as: UTF8.self)
        }
        return Self.unescape(content)
    }

    // MARK: Helpers

    func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                index += 1
            default:
                return
            }
        }
    }

    mutating func expect(_ byte: UInt8) throws(JSONError) {
        guard peek() == byte else {
            if let found = peek() {
                throw error("expected '\(Unicode.Scalar(byte))' but found '\(Unicode.Scalar(found))'")
            }
            throw error("expected '\(Unicode.Scalar(byte))' but the JSON ended")
        }
        index += 1
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count,
            memcmp(bytes.baseAddress! + index, literal.utf8Start, count) == 0
        else {
            throw error("invalid literal")
        }
        index += count
    }

    func error(_ message: String) -> JSONError {
        JSONError(message: message, offset: index)
    }

    func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}

/// Why a JSON text is invalid, and the byte offset where that was noticed.
public struct JSONError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public var message: String
    /// Byte offset of the problem within the scanned text.
    public var offset: Int

    public var description: String { "\(message) at byte \(offset)" }
}

func hexValue(_ byte: UInt8) -> UInt32? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
    default: return nil
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
