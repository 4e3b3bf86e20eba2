/// How a job's JSON params become a gRPC request message, and a response message becomes the
/// job's JSON result.
public enum GRPCMessageCodec: Sendable {
    /// No protoset: params are `{"@bytes": "<base64>"}`, sent as the message as they are; the
    /// response is stored as `{"@bytes": "<base64>"}`.
    case raw
    /// Params and results are converted by the proto3 JSON mapping, with the method's request
    /// and response types from the protoset.
    case protoset(ProtoJSONCodec)

    /// The request message for `params` (nil params are the empty message), or a permanent
    /// failure saying why they do not fit.
    func encodeRequest(method: String, params: [UInt8]?) -> Result<[UInt8], CallFailure> {
        switch self {
        case .raw:
            guard let params else { return .success([]) }
            guard let bytes = Self.rawBytes(params) else {
                return .failure(.permanent(#"params must be {"@bytes": "<base64>"} without a protoset"#))
            }
            return .success(bytes)
        case .protoset(let codec):
            guard let descriptor = codec.protoset.method(method) else {
                return .failure(.permanent("method \(method) is not in the protoset"))
            }
            do {
                return .success(
                    try codec.encode(json: params ?? Array("{}".utf8), messageType: descriptor.inputType))
            } catch {
                return .failure(.permanent("\(error)"))
            }
        }
    }

    /// The JSON result for a response message, or a permanent failure when the message is not
    /// the method's response type.
    func decodeResponse(method: String, message: [UInt8]) -> Result<[UInt8], CallFailure> {
        switch self {
        case .raw:
            var json = Array(#"{"@bytes":"#.utf8)
            JSONEscaping.appendQuoted(Base64.encode(message), to: &json)
            json.append(UInt8(ascii: "}"))
            return .success(json)
        case .protoset(let codec):
            guard let descriptor = codec.protoset.method(method) else {
                return .failure(.permanent("method \(method) is not in the protoset"))
            }
            do {
                return .success(try codec.decode(binary: message, messageType: descriptor.outputType))
            } catch {
                return .failure(
                    CallFailure(
                        isRetryable: false, message: "response is not a \(descriptor.outputType): \(error)",
                        countsForBreaker: false))
            }
        }
    }

    /// The bytes of `{"@bytes": "<base64>"}` (standard or URL-safe base64), or nil.
    static func rawBytes(_ params: [UInt8]) -> [UInt8]? {
        var bytes: [UInt8]?
        var members = 0
        let valid = params.withUnsafeBytes { buffer in
            (try? JSONScanner.scanObject(buffer) { key, range in
                members += 1
                guard key == "@bytes", let text = try? JSONScanner.decodeString(buffer, range) else { return }
                bytes = Base64.decode(text)
            }) != nil
        }
        return valid && members == 1 ? bytes : nil
    }
}
