import NIOCore

/// Classifies an HTTP response to a JSON-RPC call (DESIGN.md, "Outcome classification").
///
/// | response                                         | outcome                          |
/// |--------------------------------------------------|----------------------------------|
/// | 2xx with `result`                                 | succeeded                        |
/// | 2xx with `error`, code -32603 or -32099...-32000  | retryable                        |
/// | 2xx with any other `error` code                   | permanent                        |
/// | 408, 429, 5xx                                     | retryable, honouring Retry-After |
/// | other 4xx, 1xx, 3xx                               | permanent                        |
/// | 2xx that is not a JSON-RPC response for this id   | retryable (malformed)            |
public struct JSONRPCResponseClassifier: Sendable {
    /// JSON-RPC error codes retried besides the server-error range (-32603, -32000...-32099).
    public var extraRetryableErrorCodes: Set<Int64> = []

    public init(extraRetryableErrorCodes: Set<Int64> = []) {
        self.extraRetryableErrorCodes = extraRetryableErrorCodes
    }

    func classify(_ response: UpstreamHTTPResponse, expectedID: Int64) -> CallOutcome {
        switch response.status {
        case 200..<300:
            return classifyBody(response.body, expectedID: expectedID)
        case 408, 429, 500..<600:
            return .failed(
                .retryable(
                    "upstream answered HTTP \(response.status)\(Self.snippet(response.body))",
                    retryAfter: response.retryAfter.flatMap(Self.parseRetryAfter)))
        default:
            return .failed(.permanent("upstream answered HTTP \(response.status)\(Self.snippet(response.body))"))
        }
    }

    func classifyBody(_ body: ByteBuffer, expectedID: Int64) -> CallOutcome {
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

    /// `Retry-After` as delta-seconds (HTTP dates are rare for APIs and are ignored).
    static func parseRetryAfter(_ value: String) -> Duration? {
        guard let seconds = Int64(value.trimmingCharacters(in: " \t")), seconds >= 0, seconds < 86_400 * 7 else {
            return nil
        }
        return .seconds(seconds)
    }

    private static func snippet(_ body: ByteBuffer) -> String {
        guard body.readableBytes > 0 else { return "" }
        let text = String(decoding: body.readableBytesView.prefix(200), as: UTF8.self)
            .map { $0 == "\n" || $0 == "\r" ? " " : $0 }
        return ": " + String(text)
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
