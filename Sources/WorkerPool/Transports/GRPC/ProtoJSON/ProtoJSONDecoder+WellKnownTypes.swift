/// The binary well-known types, written in their JSON forms.
extension ProtoJSONDecoder {
    mutating func decodeWellKnown(
        _ fields: Fields, _ type: WellKnownType, _ message: ProtoMessage
    ) throws(ProtoJSONError) {
        func field(_ number: Int) -> (ProtoField, [Raw])? {
            guard let index = message.fieldIndexByNumber[number] else { return nil }
            return (message.fields[index], fields.values[index])
        }
        func integer(_ number: Int) -> Int64 {
            guard case .varint(let value)? = field(number)?.1.last else { return 0 }
            return Int64(bitPattern: value)
        }
        switch type {
        case .timestamp:
            guard
                let text = ProtoTime.formatTimestamp(
                    seconds: integer(1), nanos: Int32(truncatingIfNeeded: integer(2)))
            else { throw path.error("timestamp out of range") }
            JSONEscaping.appendQuoted(text, to: &output)
        case .duration:
            guard
                let text = ProtoTime.formatDuration(seconds: integer(1), nanos: Int32(truncatingIfNeeded: integer(2)))
            else { throw path.error("duration out of range") }
            JSONEscaping.appendQuoted(text, to: &output)
        case .fieldMask:
            var paths: [String] = []
            for case .bytes(let range) in field(1)?.1 ?? [] {
                var camel = ""
                var upperNext = false
                for character in try utf8(range) {
                    if character == "_" {
                        upperNext = true
                    } else if upperNext {
                        camel += character.uppercased()
                        upperNext = false
                    } else {
                        camel.append(character)
                    }
                }
                paths.append(camel)
            }
            JSONEscaping.appendQuoted(paths.joined(separator: ","), to: &output)
        case .structValue, .listValue:
            guard let (values, raws) = field(1) else { throw path.error("malformed \(type.rawValue) descriptor") }
            try writeFieldValue(raws, values)
        case .value:
            var winner: Int?
            for (index, field) in message.fields.enumerated()
            where fields.lastSeen[index] > 0 && field.oneofIndex != nil {
                if winner.map({ fields.lastSeen[$0] < fields.lastSeen[index] }) ?? true { winner = index }
            }
            guard let winner else {
                append("null")
                return
            }
            try writeFieldValue(fields.values[winner], message.fields[winner])
        case .empty:
            append("{}")
        case .any:
            throw path.error("google.protobuf.Any is not supported")
        default:
            guard let (valueField, raws) = field(1) else { throw path.error("malformed \(type.rawValue) descriptor") }
            try writeSingle(raws.last ?? Self.zero(valueField.kind), valueField)
        }
    }
}
