import NIOCore

/// Classifies a JSON-RPC 2.0 response body, whatever framing carried it (DESIGN.md, "Outcome
/// classification"). The framing decides what its status means (see
/// `JSONRPCResponseClassifier+HTTP.swift`) and hands the body here.
///
/// | body                                            | outcome               |
/// |-------------------------------------------------|-----------------------|
/// | `result`                                        | succeeded             |
/// | `error` with a code in `retryableCodes`         | retryable             |
/// | `error` with any other code                     | permanent             |
/// | not a JSON-RPC response for this id             | retryable (malformed) |
public struct JSONRPCResponseClassifier: Sendable {
    /// The JSON-RPC error codes that are retried; nil: the server errors, -32603 and
    /// -32000...-32099.
    public var retryableCodes: Set<Int64>?

    public init(retryableCodes: Set<Int64>? = nil) {
        self.retryableCodes = retryableCodes
    }

    /// Whether an error response with `code` is worth retrying.
    public func isRetryable(code: Int64) -> Bool {
        if let retryableCodes { return retryableCodes.contains(code) }
        return code == -32603 || (-32099 ... -32000).contains(code)
    }

    /// Classifies the JSON-RPC response in `body` to the request with id `expectedID`.
    public func classifyBody(_ body: ByteBuffer, expectedID: Int64) -> CallOutcome {
        switch Self.read(body, expectedID: expectedID) {
        case .result(let result): return .succeeded(result: result)
        case .error(let code, let message): return classifyError(code: code, message: message)
        case .malformed(let reason): return .failed(.retryable(reason))
        }
    }

    /// The JSON-RPC error in `body` if it is an error response to `expectedID` (whatever status
    /// carried it), else nil.
    func errorResponse(_ body: ByteBuffer, expectedID: Int64) -> CallOutcome? {
        guard case .error(let code, let message) = Self.read(body, expectedID: expectedID) else { return nil }
        return classifyError(code: code, message: message)
    }

    private func classifyError(code: Int64, message: String) -> CallOutcome {
        let text = "JSON-RPC error \(code): \(message)"
        if isRetryable(code: code) { return .failed(.retryable(text)) }
        // The upstream answered properly; the job is at fault, not the upstream's health.
        return .failed(CallFailure(isRetryable: false, message: text, countsForBreaker: false))
    }

    private enum Response {
        case result([UInt8])
        case error(code: Int64, message: String)
        case malformed(String)
    }

    private static func read(_ body: ByteBuffer, expectedID: Int64) -> Response {
        body.withUnsafeReadableBytes { bytes in
            var result: Range<Int>?
            var error: Range<Int>?
            var id: Range<Int>?
            do {
                try JSONScanner.scanObject(bytes) { key, range in
                    switch key {
                    case "result": result = range
                    case "error": error = range
                    case "id": id = range
                    default: break
                    }
                }
            } catch {
                return .malformed("malformed JSON-RPC response: \(error)")
            }
            guard let id, JSONScanner.decodeInteger(bytes, id) == expectedID else {
                let got =
                    id.map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self) } ?? "none"
                return .malformed("JSON-RPC response id \(got) does not match request id \(expectedID)")
            }
            if let error, !JSONScanner.isNull(bytes, error) {
                return readError(UnsafeRawBufferPointer(rebasing: bytes[error]))
            }
            guard let result else { return .malformed("malformed JSON-RPC response: neither result nor error") }
            return .result(Array(UnsafeRawBufferPointer(rebasing: bytes[result])))
        }
    }

    private static func readError(_ object: UnsafeRawBufferPointer) -> Response {
        var code: Int64?
        var message = ""
        try? JSONScanner.scanObject(object) { key, value in
            switch key {
            case "code": code = JSONScanner.decodeInteger(object, value)
            case "message": message = (try? JSONScanner.decodeString(object, value)) ?? ""
            default: break
            }
        }
        guard let code else {
            return .malformed("malformed JSON-RPC error: \(String(decoding: object.prefix(200), as: UTF8.self))")
        }
        return .error(code: code, message: message)
    }
}
