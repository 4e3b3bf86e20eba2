import NIOCore

/// The HTTP half of classification. A JSON-RPC error object answering this request is judged by
/// its code whatever the status (bitcoind-style servers send "method not found" with 404 or 500);
/// any other body is judged by the status.
///
/// | response                                          | outcome                          |
/// |---------------------------------------------------|----------------------------------|
/// | 2xx                                               | the body's classification        |
/// | any status with a JSON-RPC error for this id      | by the error's code              |
/// | 408, 429, 5xx                                     | retryable, honouring Retry-After |
/// | other 4xx, 1xx, 3xx                               | permanent                        |
///
/// `last_error` reads `JSON-RPC error CODE: MESSAGE`, or `HTTP NNN: <the body's first 200 bytes,
/// control characters escaped>`.
extension JSONRPCResponseClassifier {
    func classify(_ response: UpstreamHTTPResponse, expectedID: Int64) -> CallOutcome {
        if (200..<300).contains(response.status) {
            return classifyBody(response.body, expectedID: expectedID)
        }
        if let outcome = errorResponse(response.body, expectedID: expectedID) {
            guard case .failed(var failure) = outcome else { return outcome }
            if failure.isRetryable { failure.retryAfter = response.retryAfter.flatMap(Self.parseRetryAfter) }
            return .failed(failure)
        }
        let text = "HTTP \(response.status)\(Self.snippet(response.body))"
        switch response.status {
        case 408, 429, 500..<600:
            return .failed(.retryable(text, retryAfter: response.retryAfter.flatMap(Self.parseRetryAfter)))
        default:
            return .failed(.permanent(text))
        }
    }

    /// `Retry-After` as delta-seconds (HTTP dates are rare for APIs and are ignored).
    static func parseRetryAfter(_ value: String) -> Duration? {
        guard let seconds = Int64(value.trimmingCharacters(in: " \t")), seconds >= 0, seconds < 86_400 * 7 else {
            return nil
        }
        return .seconds(seconds)
    }

    /// `: <first 200 bytes>` with control bytes as `\xNN`, so `last_error` stays one line.
    static func snippet(_ body: ByteBuffer) -> String {
        guard body.readableBytes > 0 else { return "" }
        var bytes = [UInt8]()
        for byte in body.readableBytesView.prefix(200) {
            if byte < 0x20 || byte == 0x7F {
                let hex = Array("0123456789abcdef".utf8)
                bytes += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            } else {
                bytes.append(byte)
            }
        }
        return ": " + String(decoding: bytes, as: UTF8.self)
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
