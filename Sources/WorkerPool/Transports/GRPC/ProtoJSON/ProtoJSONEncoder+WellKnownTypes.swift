/// The JSON forms of the well-known types, encoded to their binary messages.
extension ProtoJSONEncoder {
    mutating func encodeWellKnown(
        _ value: ProtoJSONValue, _ type: WellKnownType, _ message: ProtoMessage
    ) throws(ProtoJSONError) -> [UInt8] {
        var writer = WireWriter()
        switch type {
        case .timestamp, .duration:
            guard case .string(let text) = value else {
                throw path.error("expected a string for \(type.rawValue), found \(value.typeName)")
            }
            let parsed = type == .timestamp ? ProtoTime.parseTimestamp(text) : ProtoTime.parseDuration(text)
            guard let (seconds, nanos) = parsed else {
                throw path.error(
                    type == .timestamp
                        ? "invalid timestamp \(JSONEscaping.quoted(text)) (RFC 3339 between years 1 and 9999 expected)"
                        : "invalid duration \(JSONEscaping.quoted(text)) (such as \"1.5s\", within ±315576000000s)")
            }
            if seconds != 0 {
                writer.writeTag(1, .varint)
                writer.writeVarint(UInt64(bitPattern: seconds))
            }
            if nanos != 0 {
                writer.writeTag(2, .varint)
                writer.writeVarint(UInt64(bitPattern: Int64(nanos)))
            }
        case .fieldMask:
            guard case .string(let text) = value else {
                throw path.error("expected a string for google.protobuf.FieldMask, found \(value.typeName)")
            }
            for path in text.split(separator: ",") {
                guard !path.contains("_") else {
                    throw self.path.error("invalid field mask path \(JSONEscaping.quoted(String(path)))")
                }
                var snake = ""
                for character in path {
                    if character.isUppercase {
                        snake += "_" + character.lowercased()
                    } else {
                        snake.append(character)
                    }
                }
                writer.writeLengthDelimited(1, Array(snake.utf8))
            }
        case .structValue:
            try writeStruct(value, into: &writer)
        case .value:
            return try encodeValue(value)
        case .listValue:
            try writeList(value, into: &writer)
        case .empty:
            guard case .object(let members) = value else {
                throw path.error("expected an object for google.protobuf.Empty, found \(value.typeName)")
            }
            if let first = members.first {
                path.push(.field(first.key))
                throw path.error("unknown field in google.protobuf.Empty")
            }
        case .any:
            throw path.error("google.protobuf.Any is not supported")
        default:
            guard let kind = type.wrappedKind, let field = message.fields.first else {
                throw path.error("unsupported well-known type \(type.rawValue)")
            }
            let encoded = try scalar(
                value,
                ProtoField(
                    name: field.name, jsonName: field.jsonName, number: 1, kind: kind, typeName: "", isRepeated: false,
                    isPacked: false, oneofIndex: nil, hasPresence: false))
            if !encoded.isDefault {
                writer.writeTag(1, kind.wireType)
                encoded.write(to: &writer)
            }
        }
        return writer.bytes
    }

    /// `google.protobuf.Value`: any JSON value.
    private mutating func encodeValue(_ value: ProtoJSONValue) throws(ProtoJSONError) -> [UInt8] {
        var writer = WireWriter()
        switch value {
        case .null:
            writer.writeTag(1, .varint)
            writer.writeVarint(0)
        case .number(let text):
            guard let double = Double(text), double.isFinite else { throw path.error("value out of range for double") }
            writer.writeTag(2, .fixed64)
            writer.writeFixed64(double.bitPattern)
        case .string(let text):
            writer.writeLengthDelimited(3, Array(text.utf8))
        case .bool(let flag):
            writer.writeTag(4, .varint)
            writer.writeVarint(flag ? 1 : 0)
        case .object:
            var inner = WireWriter()
            try writeStruct(value, into: &inner)
            writer.writeLengthDelimited(5, inner.bytes)
        case .array:
            var inner = WireWriter()
            try writeList(value, into: &inner)
            writer.writeLengthDelimited(6, inner.bytes)
        }
        return writer.bytes
    }

    private mutating func writeStruct(_ value: ProtoJSONValue, into writer: inout WireWriter) throws(ProtoJSONError) {
        guard case .object(let members) = value else {
            throw path.error("expected an object for google.protobuf.Struct, found \(value.typeName)")
        }
        try descend()
        defer { ascend() }
        var entries: [(key: [UInt8], bytes: [UInt8])] = []
        for (key, member) in members.map({ ($0.key, $0.value) }) {
            path.push(.key(key))
            var entry = WireWriter()
            entry.writeLengthDelimited(1, Array(key.utf8))
            entry.writeLengthDelimited(2, try encodeValue(member))
            entries.append((Array(key.utf8), entry.bytes))
            path.pop()
        }
        entries.sort { $0.key.lexicographicallyPrecedes($1.key) }
        for entry in entries { writer.writeLengthDelimited(1, entry.bytes) }
    }

    private mutating func writeList(_ value: ProtoJSONValue, into writer: inout WireWriter) throws(ProtoJSONError) {
        guard case .array(let elements) = value else {
            throw path.error("expected an array for google.protobuf.ListValue, found \(value.typeName)")
        }
        try descend()
        defer { ascend() }
        for (offset, element) in elements.enumerated() {
            path.push(.index(offset))
            writer.writeLengthDelimited(1, try encodeValue(element))
            path.pop()
        }
    }
}
