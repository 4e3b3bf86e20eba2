/// Converts between JSON and binary protobuf messages by the proto3 JSON mapping, driven by the
/// descriptors of a protoset (no generated code).
///
/// - JSON input accepts each field's JSON name (`fooBar`) and proto name (`foo_bar`), 64-bit
///   integers as strings or numbers, bytes as standard or URL-safe base64, enums by name or
///   number, `null` for "not set", and the JSON forms of the well-known types (Timestamp,
///   Duration, wrappers, Struct/Value/ListValue, FieldMask, Empty).
/// - JSON output uses JSON names, writes 64-bit integers as strings, and omits fields without
///   presence that hold their default value, as the reference implementations do.
/// - Binary output is deterministic: fields in number order, map entries sorted by key, repeated
///   scalars packed (unless declared `[packed = false]`); binary input accepts packed and
///   unpacked repeated scalars, repeated singular fields (last wins, messages merged) and skips
///   unknown fields.
///
/// Errors name the field path from the root name the caller gives:
/// `params.items[2].count: value out of range for int32`.
public struct ProtoJSONCodec: Sendable {
    /// Messages nested deeper than this are rejected, in JSON and in binary alike.
    public static let maximumDepth = 100

    /// The descriptors the codec works from.
    public let protoset: Protoset

    /// Creates a codec for the types of `protoset`.
    public init(protoset: Protoset) {
        self.protoset = protoset
    }

    /// Encodes a JSON text to the binary form of the message named `messageType`.
    ///
    /// - Parameters:
    ///   - json: one JSON value (an object, or the JSON form of a well-known type).
    ///   - messageType: the fully qualified message name, such as `acc.v1.SayRequest`.
    ///   - root: the first component of field paths in errors.
    public func encode(json: [UInt8], messageType: String, root: String = "params") throws(ProtoJSONError) -> [UInt8] {
        let path = FieldPath(root: root)
        guard let message = protoset.message(messageType) else {
            throw path.error("the protoset has no message \(messageType)")
        }
        let value: ProtoJSONValue
        do {
            value = try ProtoJSONValue.parse(json)
        } catch {
            throw path.error("invalid JSON: \(error)")
        }
        var encoder = ProtoJSONEncoder(protoset: protoset, path: path)
        return try encoder.encodeMessage(value, message)
    }

    /// Decodes the binary form of the message named `messageType` to JSON text.
    ///
    /// - Parameters:
    ///   - binary: the serialized message.
    ///   - messageType: the fully qualified message name.
    ///   - root: the first component of field paths in errors.
    public func decode(binary: [UInt8], messageType: String, root: String = "result") throws(ProtoJSONError) -> [UInt8]
    {
        let path = FieldPath(root: root)
        guard let message = protoset.message(messageType) else {
            throw path.error("the protoset has no message \(messageType)")
        }
        var decoder = ProtoJSONDecoder(protoset: protoset, bytes: binary, path: path)
        try decoder.decodeMessage(0..<binary.count, message)
        return decoder.output
    }
}
