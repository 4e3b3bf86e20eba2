import NIOCore

/// The bytes of a JSON-RPC POST, framed without `HTTPHeaders`: everything that is the same for
/// every call on a connection (request line, `Host`, `Content-Type`, the queue's configured
/// headers) is encoded once, and a call appends its `Idempotency-Key`, its `Content-Length` and
/// its body to a copy of it.
///
///     POST <path> HTTP/1.1\r\n
///     Host: <authority>\r\n
///     Content-Type: application/json\r\n
///     <configured header>: <value>\r\n       (each, in order)
///     Idempotency-Key: <key>\r\n
///     Content-Length: <body bytes>\r\n
///     \r\n
///     <JSON-RPC request object>
///
/// Header values are checked where they enter (configured headers by
/// `UpstreamHeader.validate(for:)` at start, idempotency keys at enqueue and again by the worker,
/// `RPCJob.framingProblem`), so no per-call validation happens here.
struct JSONRPCRequestFraming {
    /// The request line and the headers every call shares, ending with `Idempotency-Key: `.
    private let prefix: [UInt8]
    private static let contentLength: StaticString = "\r\nContent-Length: "
    private static let endOfHeaders: StaticString = "\r\n\r\n"

    init(url: UpstreamURL, headers: [UpstreamHeader] = []) {
        let configured = headers.map { "\($0.name): \($0.value)\r\n" }.joined()
        prefix = Array(
            "POST \(url.path) HTTP/1.1\r\nHost: \(url.authority)\r\nContent-Type: application/json\r\n\(configured)Idempotency-Key: "
                .utf8)
    }

    /// Writes the whole request for `job` into `request`, cleared first (its storage is reused
    /// when nothing else holds it): measured first, then copied in with one reservation.
    func frame(_ job: RPCJob, into request: inout ByteBuffer) {
        let body = JSONRPCRequestEncoder.Measured(job)
        let length =
            prefix.count + job.idempotencyKey.utf8.count + Self.contentLength.utf8CodeUnitCount
            + RawBytesWriter.decimalLength(Int64(body.length)) + Self.endOfHeaders.utf8CodeUnitCount + body.length
        request.clear()
        request.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { destination in
            var writer = RawBytesWriter(destination)
            writer.append(prefix)
            writer.append(job.idempotencyKey)
            writer.append(Self.contentLength)
            writer.append(decimal: Int64(body.length))
            writer.append(Self.endOfHeaders)
            body.write(to: &writer)
            return writer.count
        }
    }
}
