/// The scalar and composite kinds a protobuf field can have (`FieldDescriptorProto.Type`).
enum ProtoFieldKind: Int, Sendable {
    case double = 1
    case float, int64, uint64, int32, fixed64, fixed32, bool, string, group, message, bytes, uint32
    case `enum`, sfixed32, sfixed64, sint32, sint64

    /// The wire type a single value of this kind is written with.
    var wireType: WireType {
        switch self {
        case .double, .fixed64, .sfixed64: return .fixed64
        case .float, .fixed32, .sfixed32: return .fixed32
        case .string, .bytes, .message: return .lengthDelimited
        case .group: return .startGroup
        default: return .varint
        }
    }

    /// Whether repeated fields of this kind may be packed into one length-delimited run.
    var isPackable: Bool { wireType != .lengthDelimited && wireType != .startGroup }

    /// The name used in error messages (`value out of range for int32`).
    var name: String { "\(self)" }
}

/// One field of a message, as much of its descriptor as the JSON mapping needs.
struct ProtoField: Sendable {
    var name: String
    var jsonName: String
    var number: Int
    var kind: ProtoFieldKind
    /// Fully qualified message or enum name (no leading dot) for `.message`/`.enum` fields.
    var typeName: String
    var isRepeated: Bool
    /// Written packed when repeated (proto3 default; `[packed = false]` turns it off).
    var isPacked: Bool
    /// Index into the message's oneofs, for real (not synthetic proto3 `optional`) oneof members.
    var oneofIndex: Int?
    /// Whether an explicitly set default value is still "present" (messages, oneof members,
    /// proto3 `optional`, every proto2 singular field).
    var hasPresence: Bool
    /// A `map<K, V>` field: repeated entries of a map-entry message (set once the set is read).
    var isMap = false
}

/// A message type: its fields in field-number order, with lookups by number and by name.
struct ProtoMessage: Sendable {
    var fullName: String
    var fields: [ProtoField]
    var oneofNames: [String]
    /// The synthetic `XxxEntry` message of a `map<K, V>` field.
    var isMapEntry: Bool
    var fieldIndexByNumber: [Int: Int]
    /// Both the JSON name and the proto name of every field.
    var fieldIndexByName: [String: Int]

    init(fullName: String, fields: [ProtoField], oneofNames: [String], isMapEntry: Bool) {
        self.fullName = fullName
        self.fields = fields.sorted { $0.number < $1.number }
        self.oneofNames = oneofNames
        self.isMapEntry = isMapEntry
        var byNumber = [Int: Int]()
        var byName = [String: Int]()
        for (index, field) in self.fields.enumerated() {
            byNumber[field.number] = index
            byName[field.name] = index
            byName[field.jsonName] = index
        }
        self.fieldIndexByNumber = byNumber
        self.fieldIndexByName = byName
    }
}

/// An enum type: value names by number (the first alias wins) and numbers by name.
struct ProtoEnum: Sendable {
    var fullName: String
    var nameByNumber: [Int32: String]
    var numberByName: [String: Int32]
}

/// An RPC method of a service in the protoset.
public struct ProtoMethod: Sendable {
    /// `package.Service/Method`.
    public var path: String
    /// Fully qualified request message name.
    public var inputType: String
    /// Fully qualified response message name.
    public var outputType: String
    /// Whether the client or the server streams (the dispatcher makes unary calls only).
    public var isStreaming: Bool
}

/// Names of the well-known types that have a special JSON form.
enum WellKnownType: String {
    case timestamp = "google.protobuf.Timestamp"
    case duration = "google.protobuf.Duration"
    case fieldMask = "google.protobuf.FieldMask"
    case structValue = "google.protobuf.Struct"
    case value = "google.protobuf.Value"
    case listValue = "google.protobuf.ListValue"
    case empty = "google.protobuf.Empty"
    case any = "google.protobuf.Any"
    case doubleValue = "google.protobuf.DoubleValue"
    case floatValue = "google.protobuf.FloatValue"
    case int64Value = "google.protobuf.Int64Value"
    case uint64Value = "google.protobuf.UInt64Value"
    case int32Value = "google.protobuf.Int32Value"
    case uint32Value = "google.protobuf.UInt32Value"
    case boolValue = "google.protobuf.BoolValue"
    case stringValue = "google.protobuf.StringValue"
    case bytesValue = "google.protobuf.BytesValue"

    /// For a wrapper type, the kind of its single `value` field.
    var wrappedKind: ProtoFieldKind? {
        switch self {
        case .doubleValue: return .double
        case .floatValue: return .float
        case .int64Value: return .int64
        case .uint64Value: return .uint64
        case .int32Value: return .int32
        case .uint32Value: return .uint32
        case .boolValue: return .bool
        case .stringValue: return .string
        case .bytesValue: return .bytes
        default: return nil
        }
    }
}

/// protoc's default JSON name: underscores dropped, the letter after each one upper-cased.
func defaultJSONName(_ name: String) -> String {
    var result = ""
    var upperNext = false
    for character in name {
        if character == "_" {
            upperNext = true
        } else if upperNext {
            result += character.uppercased()
            upperNext = false
        } else {
            result.append(character)
        }
    }
    return result
}
