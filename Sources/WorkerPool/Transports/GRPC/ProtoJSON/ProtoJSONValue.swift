/// A parsed JSON value, as the proto3 JSON encoder walks it.
///
/// The dispatcher otherwise never builds JSON trees (see `JSONScanner`); the encoder does, because
/// a message's fields must be written in field-number order and oneofs checked across members,
/// whatever order the user wrote the keys in. Numbers keep their source text so that 64-bit
/// integers are not rounded through `Double`.
indirect enum ProtoJSONValue: Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([ProtoJSONValue])
    case object([Member])

    /// One member of an object, in the order written.
    struct Member: Equatable {
        var key: String
        var value: ProtoJSONValue
    }

    /// Parses one JSON text (RFC 8259, validated by `JSONScanner`).
    static func parse(_ bytes: [UInt8]) throws(JSONError) -> ProtoJSONValue {
        var result: Result<ProtoJSONValue, JSONError> = .success(.null)
        bytes.withUnsafeBytes { buffer in
            result = Result { () throws(JSONError) -> ProtoJSONValue in
                var scanner = JSONScanner(buffer)
                scanner.skipWhitespace()
                let value = try scanner.readValue(depth: 0)
                scanner.skipWhitespace()
                guard scanner.index == buffer.count else { throw scanner.error("unexpected data after the JSON value") }
                return value
            }
        }
        return try result.get()
    }

    /// A short name of the JSON type, for error messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSONScanner {
    /// Reads one value into a tree, with the same validation and depth limit as `skipValue`.
    mutating func readValue(depth: Int) throws(JSONError) -> ProtoJSONValue {
        guard depth <= Self.maximumDepth else { throw error("JSON nested deeper than \(Self.maximumDepth) levels") }
        guard let byte = peek() else { throw error("unexpected end of JSON") }
        switch byte {
        case UInt8(ascii: "{"):
            index += 1
            var members: [ProtoJSONValue.Member] = []
            guard enterContainer(closing: UInt8(ascii: "}")) else { return .object(members) }
            repeat {
                let key = try readString()
                try skipColon()
                members.append(ProtoJSONValue.Member(key: key, value: try readValue(depth: depth + 1)))
            } while try nextItem(closing: UInt8(ascii: "}"))
            return .object(members)
        case UInt8(ascii: "["):
            index += 1
            var elements: [ProtoJSONValue] = []
            guard enterContainer(closing: UInt8(ascii: "]")) else { return .array(elements) }
            repeat {
                elements.append(try readValue(depth: depth + 1))
            } while try nextItem(closing: UInt8(ascii: "]"))
            return .array(elements)
        case UInt8(ascii: "\""):
            return .string(try readString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        default:
            let start = index
            try skipNumber()
            return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
        }
    }

    /// Whether `text` is exactly one JSON number (the syntax numeric strings must follow too).
    static func isNumber(_ text: String) -> Bool {
        var utf8 = Array(text.utf8)
        return utf8.withUnsafeMutableBytes { raw in
            var scanner = JSONScanner(UnsafeRawBufferPointer(raw))
            guard (try? scanner.skipNumber()) != nil else { return false }
            return scanner.index == raw.count
        }
    }
}
