/// Binary → JSON, one message at a time (see `ProtoJSONCodec` for the rules).
struct ProtoJSONDecoder {
    let protoset: Protoset
    let bytes: [UInt8]
    var path: FieldPath
    var output: [UInt8] = []
    private var depth = 0

    init(protoset: Protoset, bytes: [UInt8], path: FieldPath) {
        self.protoset = protoset
        self.bytes = bytes
        self.path = path
    }

    /// One value as read from the wire, before its field's kind gives it a meaning.
    enum Raw {
        case varint(UInt64)
        case fixed32(UInt32)
        case fixed64(UInt64)
        case bytes(Range<Int>)
        /// A packed run of scalars of a repeated field.
        case packed(Range<Int>)
    }

    /// Every value of every known field of one message, in wire order per field.
    struct Fields {
        var values: [[Raw]]
        /// For each field, the position of its last occurrence (0 = absent): decides which
        /// oneof member wins when several were sent.
        var lastSeen: [Int]
    }

    // MARK: Messages

    mutating func decodeMessage(_ range: Range<Int>, _ message: ProtoMessage) throws(ProtoJSONError) {
        guard depth < ProtoJSONCodec.maximumDepth else {
            throw path.error("messages nested deeper than \(ProtoJSONCodec.maximumDepth) levels")
        }
        depth += 1
        defer { depth -= 1 }
        let fields = try readFields(range, message)
        if let wellKnown = WellKnownType(rawValue: message.fullName) {
            return try decodeWellKnown(fields, wellKnown, message)
        }
        var winners: [Int: Int] = [:]
        for (index, field) in message.fields.enumerated() where fields.lastSeen[index] > 0 {
            if let oneof = field.oneofIndex,
                winners[oneof].map({ fields.lastSeen[$0] < fields.lastSeen[index] }) ?? true
            {
                winners[oneof] = index
            }
        }
        output.append(UInt8(ascii: "{"))
        var first = true
        for (index, field) in message.fields.enumerated() {
            let values = fields.values[index]
            guard !values.isEmpty else { continue }
            if let oneof = field.oneofIndex, winners[oneof] != index { continue }
            if !field.isRepeated && !field.hasPresence && field.kind != .message, let last = values.last,
                isDefault(last)
            {
                continue
            }
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            JSONEscaping.appendQuoted(field.jsonName, to: &output)
            output.append(UInt8(ascii: ":"))
            path.push(.field(field.jsonName))
            try writeFieldValue(values, field)
            path.pop()
        }
        output.append(UInt8(ascii: "}"))
    }

    func readFields(_ range: Range<Int>, _ message: ProtoMessage) throws(ProtoJSONError) -> Fields {
        var fields = Fields(
            values: Array(repeating: [], count: message.fields.count),
            lastSeen: Array(repeating: 0, count: message.fields.count))
        var reader = WireReader(bytes, range: range)
        var position = 0
        do {
            while !reader.isAtEnd {
                let (number, wireType) = try reader.readTag()
                guard let index = message.fieldIndexByNumber[number] else {
                    try reader.skip(wireType)
                    continue
                }
                let field = message.fields[index]
                let raw: Raw
                switch wireType {
                case field.kind.wireType where wireType == .varint: raw = .varint(try reader.readVarint())
                case field.kind.wireType where wireType == .fixed32: raw = .fixed32(try reader.readFixed32())
                case field.kind.wireType where wireType == .fixed64: raw = .fixed64(try reader.readFixed64())
                case field.kind.wireType where wireType == .lengthDelimited:
                    raw = .bytes(try reader.readLengthDelimited())
                case .lengthDelimited where field.isRepeated && field.kind.isPackable:
                    raw = .packed(try reader.readLengthDelimited())
                default:
                    var fieldPath = path
                    fieldPath.push(.field(field.jsonName))
                    throw fieldPath.error("wire type \(wireType.rawValue) does not match \(field.kind.name)")
                }
                position += 1
                fields.values[index].append(raw)
                fields.lastSeen[index] = position
            }
        } catch let error as WireFormatError {
            throw path.error("invalid message: \(error.message)")
        } catch let error as ProtoJSONError {
            throw error
        } catch {
            throw path.error("\(error)")
        }
        return fields
    }

    private func isDefault(_ raw: Raw) -> Bool {
        switch raw {
        case .varint(let value): return value == 0
        case .fixed32(let value): return value == 0
        case .fixed64(let value): return value == 0
        case .bytes(let range), .packed(let range): return range.isEmpty
        }
    }

    mutating func writeFieldValue(_ values: [Raw], _ field: ProtoField) throws(ProtoJSONError) {
        if field.isMap {
            try writeMap(values, field)
        } else if field.isRepeated {
            output.append(UInt8(ascii: "["))
            var offset = 0
            for raw in values {
                if case .packed(let range) = raw {
                    var reader = WireReader(bytes, range: range)
                    while !reader.isAtEnd {
                        let element: Raw
                        do {
                            switch field.kind.wireType {
                            case .fixed32: element = .fixed32(try reader.readFixed32())
                            case .fixed64: element = .fixed64(try reader.readFixed64())
                            default: element = .varint(try reader.readVarint())
                            }
                        } catch {
                            throw path.error("invalid packed field: \(error.message)")
                        }
                        if offset > 0 { output.append(UInt8(ascii: ",")) }
                        path.push(.index(offset))
                        try writeSingle(element, field)
                        path.pop()
                        offset += 1
                    }
                } else {
                    if offset > 0 { output.append(UInt8(ascii: ",")) }
                    path.push(.index(offset))
                    try writeSingle(raw, field)
                    path.pop()
                    offset += 1
                }
            }
            output.append(UInt8(ascii: "]"))
        } else if field.kind == .message, values.count > 1 {
            // Several occurrences of a singular message field merge: decoding their
            // concatenation is exactly that merge.
            var merged: [UInt8] = []
            for case .bytes(let range) in values { merged.append(contentsOf: bytes[range]) }
            var inner = ProtoJSONDecoder(protoset: protoset, bytes: merged, path: path)
            inner.depth = depth
            try inner.writeSingle(.bytes(0..<merged.count), field)
            output.append(contentsOf: inner.output)
        } else if let last = values.last {
            try writeSingle(last, field)
        }
    }

    private mutating func writeMap(_ values: [Raw], _ field: ProtoField) throws(ProtoJSONError) {
        guard let entry = protoset.message(field.typeName), entry.fields.count == 2 else {
            throw path.error("the protoset's map entry \(field.typeName) is malformed")
        }
        var keys: [String] = []
        var rendered: [String: [UInt8]] = [:]
        for case .bytes(let range) in values {
            let entryFields = try readFields(range, entry)
            let keyRaw = entryFields.values[0].last ?? Self.zero(entry.fields[0].kind)
            let key = try mapKey(keyRaw, entry.fields[0])
            path.push(.key(key))
            let saved = output
            output = []
            try writeSingle(entryFields.values[1].last ?? Self.zero(entry.fields[1].kind), entry.fields[1])
            if rendered.updateValue(output, forKey: key) == nil { keys.append(key) }
            output = saved
            path.pop()
        }
        output.append(UInt8(ascii: "{"))
        for (offset, key) in keys.enumerated() {
            if offset > 0 { output.append(UInt8(ascii: ",")) }
            JSONEscaping.appendQuoted(key, to: &output)
            output.append(UInt8(ascii: ":"))
            output.append(contentsOf: rendered[key]!)
        }
        output.append(UInt8(ascii: "}"))
    }

    private func mapKey(_ raw: Raw, _ field: ProtoField) throws(ProtoJSONError) -> String {
        switch (field.kind, raw) {
        case (.string, .bytes(let range)):
            return try utf8(range)
        case (.bool, .varint(let value)):
            return value != 0 ? "true" : "false"
        default:
            guard let text = Self.integerText(raw, field.kind) else {
                throw path.error("invalid map key of kind \(field.kind.name)")
            }
            return text
        }
    }

    /// The zero value of a kind, for an absent map key or value.
    static func zero(_ kind: ProtoFieldKind) -> Raw {
        switch kind.wireType {
        case .fixed32: return .fixed32(0)
        case .fixed64: return .fixed64(0)
        case .lengthDelimited: return .bytes(0..<0)
        default: return .varint(0)
        }
    }

    // MARK: Single values

    mutating func writeSingle(_ raw: Raw, _ field: ProtoField) throws(ProtoJSONError) {
        switch (field.kind, raw) {
        case (.message, .bytes(let range)):
            guard let message = protoset.message(field.typeName) else {
                throw path.error("the protoset has no message \(field.typeName)")
            }
            try decodeMessage(range, message)
        case (.string, .bytes(let range)):
            JSONEscaping.appendQuoted(try utf8(range), to: &output)
        case (.bytes, .bytes(let range)):
            JSONEscaping.appendQuoted(Base64.encode(bytes[range]), to: &output)
        case (.bool, .varint(let value)):
            append(value != 0 ? "true" : "false")
        case (.enum, .varint(let value)):
            let number = Int32(truncatingIfNeeded: value)
            if field.typeName == "google.protobuf.NullValue" {
                append("null")
            } else if let name = protoset.enums[field.typeName]?.nameByNumber[number] {
                JSONEscaping.appendQuoted(name, to: &output)
            } else {
                append(String(number))
            }
        case (.double, .fixed64(let bits)):
            appendFloatingPoint(Double(bitPattern: bits), description: Double(bitPattern: bits).description)
        case (.float, .fixed32(let bits)):
            appendFloatingPoint(Double(Float(bitPattern: bits)), description: Float(bitPattern: bits).description)
        default:
            guard let text = Self.integerText(raw, field.kind) else {
                throw path.error("wire value does not match \(field.kind.name)")
            }
            // 64-bit integers are strings in JSON, as doubles cannot hold them exactly.
            if field.kind.bitWidth == 64 {
                JSONEscaping.appendQuoted(text, to: &output)
            } else {
                append(text)
            }
        }
    }

    static func integerText(_ raw: Raw, _ kind: ProtoFieldKind) -> String? {
        switch (kind, raw) {
        case (.int32, .varint(let value)): return String(Int32(truncatingIfNeeded: value))
        case (.int64, .varint(let value)): return String(Int64(bitPattern: value))
        case (.uint32, .varint(let value)): return String(UInt32(truncatingIfNeeded: value))
        case (.uint64, .varint(let value)): return String(value)
        case (.sint32, .varint(let value)): return String(Int32(truncatingIfNeeded: ZigZag.decode(value)))
        case (.sint64, .varint(let value)): return String(ZigZag.decode(value))
        case (.fixed32, .fixed32(let value)): return String(value)
        case (.sfixed32, .fixed32(let value)): return String(Int32(bitPattern: value))
        case (.fixed64, .fixed64(let value)): return String(value)
        case (.sfixed64, .fixed64(let value)): return String(Int64(bitPattern: value))
        default: return nil
        }
    }

    func utf8(_ range: Range<Int>) throws(ProtoJSONError) -> String {
        guard let text = String(validating: bytes[range], as: UTF8.self) else {
            throw path.error("string field is not valid UTF-8")
        }
        return text
    }

    mutating func append(_ text: String) { output.append(contentsOf: text.utf8) }

    mutating func appendFloatingPoint(_ value: Double, description: String) {
        if value.isNaN {
            append("\"NaN\"")
        } else if value.isInfinite {
            append(value < 0 ? "\"-Infinity\"" : "\"Infinity\"")
        } else {
            append(description)
        }
    }
}
