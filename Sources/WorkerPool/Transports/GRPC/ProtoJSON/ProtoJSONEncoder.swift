/// JSON → binary, one message at a time (see `ProtoJSONCodec` for the rules).
struct ProtoJSONEncoder {
    let protoset: Protoset
    var path: FieldPath
    private var depth = 0

    /// Counts one level of nesting (messages, and Struct/ListValue inside `Value`s).
    mutating func descend() throws(ProtoJSONError) {
        guard depth < ProtoJSONCodec.maximumDepth else {
            throw path.error("messages nested deeper than \(ProtoJSONCodec.maximumDepth) levels")
        }
        depth += 1
    }

    mutating func ascend() { depth -= 1 }

    init(protoset: Protoset, path: FieldPath) {
        self.protoset = protoset
        self.path = path
    }

    /// One scalar value as it goes on the wire (without its tag).
    enum Scalar {
        case varint(UInt64)
        case fixed32(UInt32)
        case fixed64(UInt64)
        case bytes([UInt8])

        var isDefault: Bool {
            switch self {
            case .varint(let value): return value == 0
            case .fixed32(let value): return value == 0
            case .fixed64(let value): return value == 0
            case .bytes(let value): return value.isEmpty
            }
        }

        func write(to writer: inout WireWriter) {
            switch self {
            case .varint(let value): writer.writeVarint(value)
            case .fixed32(let value): writer.writeFixed32(value)
            case .fixed64(let value): writer.writeFixed64(value)
            case .bytes(let value):
                writer.writeVarint(UInt64(value.count))
                writer.bytes.append(contentsOf: value)
            }
        }
    }

    // MARK: Messages

    mutating func encodeMessage(_ value: ProtoJSONValue, _ message: ProtoMessage) throws(ProtoJSONError) -> [UInt8] {
        try descend()
        defer { ascend() }
        if let wellKnown = WellKnownType(rawValue: message.fullName) {
            return try encodeWellKnown(value, wellKnown, message)
        }
        guard case .object(let members) = value else {
            throw path.error("expected an object for \(message.fullName), found \(value.typeName)")
        }
        var chosen: [(index: Int, key: String, value: ProtoJSONValue)] = []
        var seen = Set<Int>()
        var oneofMembers: [Int: String] = [:]
        for (key, member) in members.map({ ($0.key, $0.value) }) {
            path.push(.field(key))
            defer { path.pop() }
            guard let index = message.fieldIndexByName[key] else {
                throw path.error("unknown field in \(message.fullName)")
            }
            let field = message.fields[index]
            guard seen.insert(index).inserted else { throw path.error("field given more than once") }
            if let oneof = field.oneofIndex, member != .null {
                if let other = oneofMembers[oneof] {
                    throw path.error("\(other) is already set in oneof \(message.oneofNames[oneof])")
                }
                oneofMembers[oneof] = key
            }
            if member == .null && !acceptsNull(field) { continue }
            chosen.append((index, key, member))
        }
        chosen.sort { $0.index < $1.index }
        var writer = WireWriter()
        for (index, key, member) in chosen {
            path.push(.field(key))
            try encodeField(member, message.fields[index], into: &writer)
            path.pop()
        }
        return writer.bytes
    }

    /// Whether `null` is a value of the field rather than "not set" (`google.protobuf.Value`
    /// and the `NullValue` enum).
    private func acceptsNull(_ field: ProtoField) -> Bool {
        !field.isRepeated
            && (field.kind == .message && field.typeName == WellKnownType.value.rawValue
                || field.kind == .enum && field.typeName == "google.protobuf.NullValue")
    }

    private mutating func encodeField(
        _ value: ProtoJSONValue, _ field: ProtoField, into writer: inout WireWriter
    ) throws(ProtoJSONError) {
        if field.isMap {
            try encodeMap(value, field, into: &writer)
        } else if field.isRepeated {
            guard case .array(let elements) = value else {
                throw path.error("expected an array, found \(value.typeName)")
            }
            var packed = WireWriter()
            for (offset, element) in elements.enumerated() {
                path.push(.index(offset))
                if element == .null && !(field.kind == .message && field.typeName == WellKnownType.value.rawValue) {
                    throw path.error("null is not allowed in a repeated field")
                }
                if field.isPacked {
                    try scalar(element, field).write(to: &packed)
                } else {
                    try encodeSingle(element, field, force: true, into: &writer)
                }
                path.pop()
            }
            if field.isPacked && !elements.isEmpty { writer.writeLengthDelimited(field.number, packed.bytes) }
        } else {
            try encodeSingle(value, field, force: field.hasPresence, into: &writer)
        }
    }

    private mutating func encodeSingle(
        _ value: ProtoJSONValue, _ field: ProtoField, force: Bool, into writer: inout WireWriter
    ) throws(ProtoJSONError) {
        switch field.kind {
        case .message:
            guard let message = protoset.message(field.typeName) else {
                throw path.error("the protoset has no message \(field.typeName)")
            }
            writer.writeLengthDelimited(field.number, try encodeMessage(value, message))
        case .group:
            throw path.error("groups are not supported")
        default:
            let encoded = try scalar(value, field)
            if force || !encoded.isDefault {
                writer.writeTag(field.number, field.kind.wireType)
                encoded.write(to: &writer)
            }
        }
    }

    private mutating func encodeMap(
        _ value: ProtoJSONValue, _ field: ProtoField, into writer: inout WireWriter
    ) throws(ProtoJSONError) {
        guard case .object(let members) = value else { throw path.error("expected an object, found \(value.typeName)") }
        guard let entry = protoset.message(field.typeName), entry.fields.count == 2 else {
            throw path.error("the protoset's map entry \(field.typeName) is malformed")
        }
        let keyField = entry.fields[0]
        let valueField = entry.fields[1]
        var entries: [(key: MapKey, bytes: [UInt8])] = []
        for (key, member) in members.map({ ($0.key, $0.value) }) {
            let mapKey = try parseMapKey(key, keyField)
            path.push(.key(key))
            if member == .null && !acceptsNull(valueField) { throw path.error("null is not allowed as a map value") }
            var entryWriter = WireWriter()
            entryWriter.writeTag(keyField.number, keyField.kind.wireType)
            try scalar(.string(key), keyField, mapKey: true).write(to: &entryWriter)
            try encodeSingle(member, valueField, force: true, into: &entryWriter)
            entries.append((mapKey, entryWriter.bytes))
            path.pop()
        }
        // Sorted by key, so the same JSON always encodes to the same bytes (as deterministic
        // serialization in the reference implementations).
        entries.sort { $0.key < $1.key }
        for entry in entries { writer.writeLengthDelimited(field.number, entry.bytes) }
    }

    /// A map key in the order deterministic serialization sorts by.
    enum MapKey: Comparable {
        case bool(Bool)
        case signed(Int64)
        case unsigned(UInt64)
        case string([UInt8])

        static func < (lhs: MapKey, rhs: MapKey) -> Bool {
            switch (lhs, rhs) {
            case (.bool(let a), .bool(let b)): return !a && b
            case (.signed(let a), .signed(let b)): return a < b
            case (.unsigned(let a), .unsigned(let b)): return a < b
            case (.string(let a), .string(let b)): return a.lexicographicallyPrecedes(b)
            default: return false
            }
        }
    }

    private func parseMapKey(_ key: String, _ field: ProtoField) throws(ProtoJSONError) -> MapKey {
        switch field.kind {
        case .string: return .string(Array(key.utf8))
        case .bool:
            if key == "true" { return .bool(true) }
            if key == "false" { return .bool(false) }
        case .int32, .sint32, .sfixed32, .int64, .sint64, .sfixed64:
            if let value = Self.integerLiteral(key), let signed = value.signed(bits: field.kind.bitWidth) {
                return .signed(signed)
            }
        case .uint32, .fixed32, .uint64, .fixed64:
            if let value = Self.integerLiteral(key), let unsigned = value.unsigned(bits: field.kind.bitWidth) {
                return .unsigned(unsigned)
            }
        default: break
        }
        throw path.error("invalid map key \(JSONEscaping.quoted(key)) for \(field.kind.name)")
    }

    // MARK: Scalars

    /// Converts one JSON value to a scalar of `field`'s kind; `mapKey` means `value` is a map key
    /// string (so a bool key arrives as `"true"`).
    func scalar(_ value: ProtoJSONValue, _ field: ProtoField, mapKey: Bool = false) throws(ProtoJSONError) -> Scalar {
        let kind = field.kind
        switch kind {
        case .int32, .int64, .sint32, .sint64, .sfixed32, .sfixed64:
            let integer = try self.integer(value, kind)
            guard let signed = integer.signed(bits: kind.bitWidth) else {
                throw path.error("value out of range for \(kind.name)")
            }
            switch kind {
            case .sint32, .sint64: return .varint(ZigZag.encode(signed))
            case .sfixed32: return .fixed32(UInt32(bitPattern: Int32(signed)))
            case .sfixed64: return .fixed64(UInt64(bitPattern: signed))
            default: return .varint(UInt64(bitPattern: signed))
            }
        case .uint32, .uint64, .fixed32, .fixed64:
            let integer = try self.integer(value, kind)
            guard let unsigned = integer.unsigned(bits: kind.bitWidth) else {
                throw path.error("value out of range for \(kind.name)")
            }
            switch kind {
            case .fixed32: return .fixed32(UInt32(unsigned))
            case .fixed64: return .fixed64(unsigned)
            default: return .varint(unsigned)
            }
        case .double:
            return .fixed64(try floatingPoint(value, kind).bitPattern)
        case .float:
            let double = try floatingPoint(value, kind)
            guard !double.isFinite || abs(double) <= Double(Float.greatestFiniteMagnitude) else {
                throw path.error("value out of range for float")
            }
            return .fixed32(Float(double).bitPattern)
        case .bool:
            if case .bool(let flag) = value { return .varint(flag ? 1 : 0) }
            if mapKey, case .string(let text) = value, text == "true" || text == "false" {
                return .varint(text == "true" ? 1 : 0)
            }
            throw path.error("expected a boolean for bool, found \(value.typeName)")
        case .string:
            guard case .string(let text) = value else {
                throw path.error("expected a string, found \(value.typeName)")
            }
            return .bytes(Array(text.utf8))
        case .bytes:
            guard case .string(let text) = value else {
                throw path.error("expected a base64 string for bytes, found \(value.typeName)")
            }
            guard let decoded = Base64.decode(text) else { throw path.error("invalid base64 for bytes") }
            return .bytes(decoded)
        case .enum:
            return .varint(UInt64(bitPattern: Int64(try enumNumber(value, field.typeName))))
        case .message, .group:
            throw path.error("expected a scalar field")
        }
    }

    private func enumNumber(_ value: ProtoJSONValue, _ typeName: String) throws(ProtoJSONError) -> Int32 {
        guard let type = protoset.enums[typeName] else { throw path.error("the protoset has no enum \(typeName)") }
        switch value {
        case .null where typeName == "google.protobuf.NullValue":
            return 0
        case .string(let name):
            if let number = type.numberByName[name] { return number }
            if let integer = Self.integerLiteral(name), let number = integer.signed(bits: 32) { return Int32(number) }
            throw path.error("unknown value \(JSONEscaping.quoted(name)) for enum \(typeName)")
        case .number:
            let integer = try self.integer(value, .int32)
            guard let number = integer.signed(bits: 32) else { throw path.error("value out of range for enum") }
            return Int32(number)
        default:
            throw path.error("expected an enum name or number for \(typeName), found \(value.typeName)")
        }
    }

    /// An integer of any sign and up to 64 bits of magnitude, before its range is checked.
    struct WideInteger {
        var negative: Bool
        var magnitude: UInt64

        func signed(bits: Int) -> Int64? {
            let limit = UInt64(1) << UInt64(bits - 1)
            if negative {
                return magnitude <= limit ? (magnitude == limit ? -Int64(limit - 1) - 1 : -Int64(magnitude)) : nil
            }
            return magnitude < limit ? Int64(magnitude) : nil
        }

        func unsigned(bits: Int) -> UInt64? {
            if negative { return magnitude == 0 ? 0 : nil }
            return bits == 64 || magnitude < UInt64(1) << UInt64(bits) ? magnitude : nil
        }
    }

    private func integer(_ value: ProtoJSONValue, _ kind: ProtoFieldKind) throws(ProtoJSONError) -> WideInteger {
        switch value {
        case .number(let text):
            if let literal = Self.integerLiteral(text) { return literal }
            if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let double = Double(text) {
                guard double == double.rounded(.towardZero) else {
                    throw path.error("expected an integer for \(kind.name), found \(text)")
                }
                guard abs(double) < 18_446_744_073_709_551_616.0 else {
                    throw path.error("value out of range for \(kind.name)")
                }
                return WideInteger(negative: double < 0, magnitude: UInt64(abs(double)))
            }
            throw path.error("value out of range for \(kind.name)")
        case .string(let text):
            guard let literal = Self.integerLiteral(text) else {
                let isDigits = !text.isEmpty && text.drop { $0 == "-" }.allSatisfy { $0.isASCII && $0.isNumber }
                throw path.error(
                    isDigits
                        ? "value out of range for \(kind.name)"
                        : "expected an integer for \(kind.name), found \(JSONEscaping.quoted(text))")
            }
            return literal
        default:
            throw path.error("expected an integer for \(kind.name), found \(value.typeName)")
        }
    }

    /// `-?[0-9]+` within 64 bits of magnitude, or nil.
    static func integerLiteral(_ text: String) -> WideInteger? {
        var utf8 = Substring(text).utf8[...]
        let negative = utf8.first == UInt8(ascii: "-")
        if negative { utf8 = utf8.dropFirst() }
        guard !utf8.isEmpty else { return nil }
        var magnitude: UInt64 = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (multiplied, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (added, overflow2) = multiplied.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = added
        }
        return WideInteger(negative: negative, magnitude: magnitude)
    }

    private func floatingPoint(_ value: ProtoJSONValue, _ kind: ProtoFieldKind) throws(ProtoJSONError) -> Double {
        let text: String
        switch value {
        case .number(let number):
            text = number
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        case .string(let string) where JSONScanner.isNumber(string):
            text = string
        default:
            throw path.error("expected a number for \(kind.name), found \(value.typeName)")
        }
        guard let double = Double(text), double.isFinite else {
            throw path.error("value out of range for \(kind.name)")
        }
        return double
    }
}

extension ProtoFieldKind {
    /// The width of the integer kinds, for range checks.
    var bitWidth: Int {
        switch self {
        case .int32, .sint32, .sfixed32, .uint32, .fixed32, .enum: return 32
        default: return 64
        }
    }
}
