import NIOCore

/// One complete HTTP response to a JSON-RPC call, as `HTTPResponseParser` yields it.
struct UpstreamHTTPResponse: Sendable, Equatable {
    var status: Int
    /// False when the upstream asked to close the connection after this response (or its
    /// framing needs the close).
    var keepAlive: Bool
    /// The raw `Retry-After` header, when present.
    var retryAfter: String?
    var body: ByteBuffer
}
