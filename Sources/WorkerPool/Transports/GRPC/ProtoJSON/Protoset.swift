/// The message, enum and service types of a protoset: a `FileDescriptorSet` as written by
/// `protoc --include_imports --descriptor_set_out=FILE`.
///
/// The descriptors are read with the codec's own wire-format reader rather than with
/// swift-protobuf's generated `Google_Protobuf_FileDescriptorSet`: the JSON mapping needs a
/// dozen descriptor fields, the reader is needed for the messages anyway, and the project keeps
/// one fewer dependency (and its build time) out of every CI run.
public struct Protoset: Sendable {
    var messages: [String: ProtoMessage]
    var enums: [String: ProtoEnum]
    var methods: [String: ProtoMethod]

    /// Decodes a serialized `FileDescriptorSet`.
    ///
    /// Throws when the bytes are not a descriptor set, hold no files, or name a type that none of
    /// its files define (a set written without `--include_imports`).
    public init(serialized bytes: [UInt8]) throws(ProtosetError) {
        var decoder = ProtosetDecoder()
        do {
            try decoder.decodeSet(bytes)
        } catch {
            throw ProtosetError("not a FileDescriptorSet (\(error.message))")
        }
        guard decoder.fileCount > 0 else { throw ProtosetError("not a FileDescriptorSet (it has no files)") }
        self.messages = decoder.messages
        self.enums = decoder.enums
        self.methods = decoder.methods
        for (name, message) in messages {
            for (index, field) in message.fields.enumerated()
            where field.isRepeated && field.kind == .message && messages[field.typeName]?.isMapEntry == true {
                messages[name]?.fields[index].isMap = true
            }
        }
        for message in messages.values {
            for field in message.fields where field.kind == .message || field.kind == .enum || field.kind == .group {
                let known = field.kind == .enum ? enums[field.typeName] != nil : messages[field.typeName] != nil
                guard known else {
                    throw ProtosetError(
                        "\(message.fullName).\(field.name) refers to \(field.typeName), which the protoset does not "
                            + "define (write it with protoc --include_imports)")
                }
            }
        }
        for method in methods.values {
            guard messages[method.inputType] != nil, messages[method.outputType] != nil else {
                throw ProtosetError("\(method.path) uses a message the protoset does not define")
            }
        }
    }

    /// The method at `path` (`package.Service/Method`, a leading `/` accepted), or nil.
    public func method(_ path: String) -> ProtoMethod? {
        methods[path.hasPrefix("/") ? String(path.dropFirst()) : path]
    }

    /// Every method path in the protoset, sorted.
    public var methodPaths: [String] { methods.keys.sorted() }

    func message(_ name: String) -> ProtoMessage? { messages[name] }
}

/// Why a protoset could not be used.
public struct ProtosetError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, in one line.
    public var message: String

    init(_ message: String) { self.message = message }

    public var description: String { message }
}
