import NIOCore

/// The HTTP half of classification: the status decides first, and only a 2xx body is read as
/// JSON-RPC.
///
/// | response                                         | outcome                          |
/// |--------------------------------------------------|----------------------------------|
/// | 2xx                                               | the body's classification        |
/// | 408, 429, 5xx                                     | retryable, honouring Retry-After |
/// | other 4xx, 1xx, 3xx                               | permanent                        |
extension JSONRPCResponseClassifier {
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
