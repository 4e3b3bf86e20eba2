import NIOCore

/// Encodes a job as a JSON-RPC 2.0 request object, framing-free: HTTP sends it as a POST body,
/// another framing may carry the same bytes.
///
///     {"jsonrpc":"2.0","method":"<method>","params":<params>,"id":<job id>}
///
/// `params` are the job's raw JSON bytes, copied as they are (checked at enqueue); the id is the
/// job id, so the response can be matched to the job.
public enum JSONRPCRequestEncoder {
    /// Appends the request object for `job` to `buffer`.
    public static func encode(_ job: RPCJob, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"jsonrpc\":\"2.0\",\"method\":")
        if JSONEscaping.needsEscaping(job.method) {
            var quoted = [UInt8]()
            JSONEscaping.appendQuoted(job.method, to: &quoted)
            buffer.writeBytes(quoted)
        } else {
            buffer.writeStaticString("\"")
            buffer.writeString(job.method)
            buffer.writeStaticString("\"")
        }
        if let params = job.params {
            buffer.writeStaticString(",\"params\":")
            buffer.writeBytes(params)
        }
        buffer.writeStaticString(",\"id\":")
        buffer.writeString(String(job.id))
        buffer.writeStaticString("}")
    }
}
