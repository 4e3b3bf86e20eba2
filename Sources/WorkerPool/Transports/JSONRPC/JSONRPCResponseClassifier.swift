import NIOCore

/// Classifies a JSON-RPC 2.0 response body, whatever framing carried it (DESIGN.md, "Outcome
/// classification"). The framing classifies its own status first (see
/// `JSONRPCResponseClassifier+HTTP.swift`) and hands successful bodies here.
///
/// | body                                            | outcome               |
/// |-------------------------------------------------|-----------------------|
/// | `result`                                        | succeeded             |
/// | `error`, code -32603 or -32099...-32000         | retryable             |
/// | `error` with any other code                     | permanent             |
/// | not a JSON-RPC response for this id             | retryable (malformed) |
public struct JSONRPCResponseClassifier: Sendable {
    /// JSON-RPC error codes retried besides the server-error range (-32603, -32000...-32099).
    public var extraRetryableErrorCodes: Set<Int64> = []

    public init(extraRetryableErrorCodes: Set<Int64> = []) {
        self.extraRetryableErrorCodes = extraRetryableErrorCodes
    }

    /// Classifies the JSON-RPC response in `body` to the request with id `expectedID`.
    public func classifyBody(_ body: ByteBuffer, expectedID: Int64) -> CallOutcome {
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
                return .failed(.retryable("malformed JSON-RPC response: \(error)"))
            }
            guard let id, JSONScanner.decodeInteger(bytes, id) == expectedID else {
                let got =
                    id.map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self) } ?? "none"
                return .failed(.retryable("JSON-RPC response id \(got) does not match request id \(expectedID)"))
            }
            if let error, !JSONScanner.isNull(bytes, error) {
                return classifyError(bytes, error)
            }
            guard let result else {
                return .failed(.retryable("malformed JSON-RPC response: neither result nor error"))
            }
            return .succeeded(result: Array(UnsafeRawBufferPointer(rebasing: bytes[result])))
        }
    }

    private func classifyError(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> CallOutcome {
        var code: Int64?
        var message = ""
        let object = UnsafeRawBufferPointer(rebasing: bytes[range])
        try? JSONScanner.scanObject(object) { key, value in
            switch key {
            case "code": code = JSONScanner.decodeInteger(object, value)
            case "message": message = (try? JSONScanner.decodeString(object, value)) ?? ""
            default: break
            }
        }
        guard let code else {
            return .failed(
                .retryable("malformed JSON-RPC error: \(String(decoding: object.prefix(200), as: UTF8.self))"))
        }
        let text = "JSON-RPC error \(code): \(message)"
        let serverError = code == -32603 || (-32099 ... -32000).contains(code)
        if serverError || extraRetryableErrorCodes.contains(code) {
            return .failed(.retryable(text))
        }
        // The upstream answered properly; the job is at fault, not the upstream's health.
        return .failed(CallFailure(isRetryable: false, message: text, countsForBreaker: false))
    }
}
