import NIOCore

/// The bytes of a JSON-RPC POST, framed without `HTTPHeaders`: everything that is the same for
/// every call on a connection (request line, `Host`, `Content-Type`) is encoded once, and a call
/// appends its `Idempotency-Key`, its `Content-Length` and its body to a copy of it.
///
///     POST <path> HTTP/1.1\r\n
///     Host: <authority>\r\n
///     Content-Type: application/json\r\n
///     Idempotency-Key: <key>\r\n
///     Content-Length: <body bytes>\r\n
///     \r\n
///     <JSON-RPC request object>
///
/// Header values are checked where they enter (idempotency keys at enqueue and again in
/// `HTTPJSONRPCConnection.call`), so no per-call validation happens here.
struct JSONRPCRequestFraming {
    /// The request line and the headers every call shares, ending with `Idempotency-Key: `.
    private let prefix: ByteBuffer

    init(url: UpstreamURL) {
        var prefix = ByteBuffer()
        prefix.writeString("POST \(url.path) HTTP/1.1\r\nHost: \(url.authority)\r\n")
        prefix.writeStaticString("Content-Type: application/json\r\nIdempotency-Key: ")
        self.prefix = prefix
    }

    /// Writes the whole request for `job` into `request`, using `body` as scratch space; both
    /// are cleared first (their storage is reused when nothing else holds it).
    func frame(_ job: RPCJob, into request: inout ByteBuffer, body: inout ByteBuffer) {
        body.clear()
        JSONRPCRequestEncoder.encode(job, into: &body)
        request.clear()
        request.reserveCapacity(prefix.readableBytes + job.idempotencyKey.utf8.count + body.readableBytes + 48)
        request.writeImmutableBuffer(prefix)
        request.writeString(job.idempotencyKey)
        request.writeStaticString("\r\nContent-Length: ")
        request.writeString(String(body.readableBytes))
        request.writeStaticString("\r\n\r\n")
        request.writeImmutableBuffer(body)
    }
}
