/// Reads the few descriptor fields the JSON mapping needs out of a serialized
/// `google.protobuf.FileDescriptorSet`, skipping everything else (options, source info, ...).
///
/// Field numbers are those of `google/protobuf/descriptor.proto`.
struct ProtosetDecoder {
    private(set) var messages: [String: ProtoMessage] = [:]
    private(set) var enums: [String: ProtoEnum] = [:]
    private(set) var methods: [String: ProtoMethod] = [:]
    private(set) var fileCount = 0

    /// Upper bound on message nesting, so a hostile descriptor cannot exhaust the stack.
    static let maximumNesting = 100

    mutating func decodeSet(_ bytes: [UInt8]) throws(WireFormatError) {
        var reader = WireReader(bytes)
        while !reader.isAtEnd {
            let (number, wireType) = try reader.readTag()
            if number == 1 && wireType == .lengthDelimited {
                try decodeFile(WireReader(bytes, range: try reader.readLengthDelimited()))
                fileCount += 1
            } else {
                try reader.skip(wireType)
            }
        }
    }

    private mutating func decodeFile(_ reader: WireReader) throws(WireFormatError) {
        var package = ""
        var syntax = ""
        var messageRanges: [Range<Int>] = []
        var enumRanges: [Range<Int>] = []
        var serviceRanges: [Range<Int>] = []
        var name = ""
        try reader.forEachLengthDelimited { number, range throws(WireFormatError) in
            switch number {
            case 1: name = try reader.string(range)
            case 2: package = try reader.string(range)
            case 4: messageRanges.append(range)
            case 5: enumRanges.append(range)
            case 6: serviceRanges.append(range)
            case 12: syntax = try reader.string(range)
            default: break
            }
        }
        guard !name.isEmpty else { throw WireFormatError(message: "a file descriptor has no name") }
        let scope = package.isEmpty ? "" : package + "."
        let isProto2 = syntax.isEmpty || syntax == "proto2"
        for range in messageRanges {
            try decodeMessage(WireReader(reader.bytes, range: range), scope: scope, isProto2: isProto2, depth: 0)
        }
        for range in enumRanges {
            try decodeEnum(WireReader(reader.bytes, range: range), scope: scope)
        }
        for range in serviceRanges {
            try decodeService(WireReader(reader.bytes, range: range), package: package)
        }
    }

    private mutating func decodeMessage(
        _ reader: WireReader, scope: String, isProto2: Bool, depth: Int
    ) throws(WireFormatError) {
        guard depth < Self.maximumNesting else { throw WireFormatError(message: "messages nested too deeply") }
        var name = ""
        var fieldRanges: [Range<Int>] = []
        var nestedRanges: [Range<Int>] = []
        var enumRanges: [Range<Int>] = []
        var oneofNames: [String] = []
        var isMapEntry = false
        try reader.forEachLengthDelimited { number, range throws(WireFormatError) in
            switch number {
            case 1: name = try reader.string(range)
            case 2: fieldRanges.append(range)
            case 3: nestedRanges.append(range)
            case 4: enumRanges.append(range)
            case 7: isMapEntry = try Self.boolOption(reader.bytes, range, number: 7)
            case 8: oneofNames.append(try Self.nameField(reader.bytes, range))
            default: break
            }
        }
        let fullName = scope + name
        var fields: [ProtoField] = []
        var syntheticOneofs = Set<Int>()
        for range in fieldRanges {
            let (field, isSynthetic) = try decodeField(WireReader(reader.bytes, range: range), isProto2: isProto2)
            if isSynthetic, let index = field.oneofIndex { syntheticOneofs.insert(index) }
            fields.append(field)
        }
        // A proto3 `optional` field sits in a synthetic one-member oneof; for JSON it is an
        // ordinary field with presence, so it must not take part in the "one member set" rule.
        for index in fields.indices where fields[index].oneofIndex.map(syntheticOneofs.contains) == true {
            fields[index].oneofIndex = nil
        }
        messages[fullName] = ProtoMessage(
            fullName: fullName, fields: fields, oneofNames: oneofNames, isMapEntry: isMapEntry)
        for range in nestedRanges {
            try decodeMessage(
                WireReader(reader.bytes, range: range), scope: fullName + ".", isProto2: isProto2, depth: depth + 1)
        }
        for range in enumRanges {
            try decodeEnum(WireReader(reader.bytes, range: range), scope: fullName + ".")
        }
    }

    private func decodeField(
        _ reader: WireReader, isProto2: Bool
    ) throws(WireFormatError) -> (ProtoField, isSynthetic: Bool) {
        var reader = reader
        var name = ""
        var jsonName: String?
        var number = 0
        var label = 1
        var kind: ProtoFieldKind?
        var typeName = ""
        var oneofIndex: Int?
        var proto3Optional = false
        var packedOption: Bool?
        while !reader.isAtEnd {
            let (fieldNumber, wireType) = try reader.readTag()
            switch (fieldNumber, wireType) {
            case (1, .lengthDelimited): name = try reader.string(try reader.readLengthDelimited())
            case (3, .varint): number = Int(truncatingIfNeeded: try reader.readVarint())
            case (4, .varint): label = Int(truncatingIfNeeded: try reader.readVarint())
            case (5, .varint):
                let raw = Int(truncatingIfNeeded: try reader.readVarint())
                guard let decoded = ProtoFieldKind(rawValue: raw) else {
                    throw WireFormatError(message: "unknown field type \(raw)")
                }
                kind = decoded
            case (6, .lengthDelimited):
                let value = try reader.string(try reader.readLengthDelimited())
                typeName = value.hasPrefix(".") ? String(value.dropFirst()) : value
            case (8, .lengthDelimited):
                let range = try reader.readLengthDelimited()
                packedOption = try Self.optionalBoolOption(reader.bytes, range, number: 2)
            case (9, .varint): oneofIndex = Int(truncatingIfNeeded: try reader.readVarint())
            case (10, .lengthDelimited): jsonName = try reader.string(try reader.readLengthDelimited())
            case (17, .varint): proto3Optional = try reader.readVarint() != 0
            default: try reader.skip(wireType)
            }
        }
        guard let kind, !name.isEmpty, number > 0 else {
            throw WireFormatError(message: "a field descriptor lacks its name, number or type")
        }
        let isRepeated = label == 3
        let isPacked = isRepeated && kind.isPackable && (packedOption ?? !isProto2)
        let hasPresence =
            !isRepeated && (kind == .message || kind == .group || oneofIndex != nil || proto3Optional || isProto2)
        let field = ProtoField(
            name: name, jsonName: jsonName ?? defaultJSONName(name), number: number, kind: kind, typeName: typeName,
            isRepeated: isRepeated, isPacked: isPacked, oneofIndex: oneofIndex, hasPresence: hasPresence)
        return (field, proto3Optional)
    }

    private mutating func decodeEnum(_ reader: WireReader, scope: String) throws(WireFormatError) {
        var reader = reader
        var name = ""
        var nameByNumber: [Int32: String] = [:]
        var numberByName: [String: Int32] = [:]
        while !reader.isAtEnd {
            let (number, wireType) = try reader.readTag()
            switch (number, wireType) {
            case (1, .lengthDelimited): name = try reader.string(try reader.readLengthDelimited())
            case (2, .lengthDelimited):
                var value = WireReader(reader.bytes, range: try reader.readLengthDelimited())
                var valueName = ""
                var valueNumber: Int32 = 0
                while !value.isAtEnd {
                    let (inner, innerType) = try value.readTag()
                    switch (inner, innerType) {
                    case (1, .lengthDelimited): valueName = try value.string(try value.readLengthDelimited())
                    case (2, .varint): valueNumber = Int32(truncatingIfNeeded: try value.readVarint())
                    default: try value.skip(innerType)
                    }
                }
                numberByName[valueName] = valueNumber
                if nameByNumber[valueNumber] == nil { nameByNumber[valueNumber] = valueName }
            default: try reader.skip(wireType)
            }
        }
        enums[scope + name] = ProtoEnum(fullName: scope + name, nameByNumber: nameByNumber, numberByName: numberByName)
    }

    private mutating func decodeService(_ reader: WireReader, package: String) throws(WireFormatError) {
        var reader = reader
        var name = ""
        var methodRanges: [Range<Int>] = []
        while !reader.isAtEnd {
            let (number, wireType) = try reader.readTag()
            switch (number, wireType) {
            case (1, .lengthDelimited): name = try reader.string(try reader.readLengthDelimited())
            case (2, .lengthDelimited): methodRanges.append(try reader.readLengthDelimited())
            default: try reader.skip(wireType)
            }
        }
        let service = package.isEmpty ? name : package + "." + name
        for range in methodRanges {
            var method = WireReader(reader.bytes, range: range)
            var methodName = ""
            var input = ""
            var output = ""
            var streaming = false
            while !method.isAtEnd {
                let (number, wireType) = try method.readTag()
                switch (number, wireType) {
                case (1, .lengthDelimited): methodName = try method.string(try method.readLengthDelimited())
                case (2, .lengthDelimited): input = try method.string(try method.readLengthDelimited())
                case (3, .lengthDelimited): output = try method.string(try method.readLengthDelimited())
                case (5, .varint), (6, .varint): streaming = try method.readVarint() != 0 || streaming
                default: try method.skip(wireType)
                }
            }
            let path = service + "/" + methodName
            methods[path] = ProtoMethod(
                path: path, inputType: String(input.drop { $0 == "." }), outputType: String(output.drop { $0 == "." }),
                isStreaming: streaming)
        }
    }

    private static func nameField(_ bytes: [UInt8], _ range: Range<Int>) throws(WireFormatError) -> String {
        var reader = WireReader(bytes, range: range)
        var name = ""
        while !reader.isAtEnd {
            let (number, wireType) = try reader.readTag()
            if number == 1 && wireType == .lengthDelimited {
                name = try reader.string(try reader.readLengthDelimited())
            } else {
                try reader.skip(wireType)
            }
        }
        return name
    }

    private static func boolOption(_ bytes: [UInt8], _ range: Range<Int>, number: Int) throws(WireFormatError) -> Bool {
        try optionalBoolOption(bytes, range, number: number) ?? false
    }

    private static func optionalBoolOption(
        _ bytes: [UInt8], _ range: Range<Int>, number: Int
    ) throws(WireFormatError) -> Bool? {
        var reader = WireReader(bytes, range: range)
        var value: Bool?
        while !reader.isAtEnd {
            let (fieldNumber, wireType) = try reader.readTag()
            if fieldNumber == number && wireType == .varint {
                value = try reader.readVarint() != 0
            } else {
                try reader.skip(wireType)
            }
        }
        return value
    }
}
