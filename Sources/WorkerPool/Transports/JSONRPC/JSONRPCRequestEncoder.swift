import NIOCore

/// Encodes a job as a JSON-RPC 2.0 request object, framing-free: HTTP sends it as a POST body,
/// another framing may carry the same bytes.
///
///     {"jsonrpc":"2.0","method":<method>,"params":<params>,"id":<job id>}
///
/// `params` are the job's raw JSON bytes, copied as they are (checked at enqueue); the id is the
/// job id, so the response can be matched to the job.
enum JSONRPCRequestEncoder {
    /// Appends the request object for `job` to `buffer`.
    static func encode(_ job: RPCJob, into buffer: inout ByteBuffer) {
        let request = Measured(job)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: request.length) { destination in
            var writer = RawBytesWriter(destination)
            request.write(to: &writer)
            return writer.count
        }
    }

    /// A job's request object, measured before it is written: framings that state the length
    /// first (HTTP's `Content-Length`) write header and body in one reservation.
    struct Measured {
        let job: RPCJob
        /// The method as a quoted JSON string, only when it has bytes to escape (which names
        /// checked at enqueue practically never do); nil: the method is written between quotes
        /// as it is.
        let escapedMethod: [UInt8]?
        /// The request object's length in bytes.
        let length: Int

        init(_ job: RPCJob) {
            self.job = job
            if JSONEscaping.needsEscaping(job.method) {
                var quoted = [UInt8]()
                JSONEscaping.appendQuoted(job.method, to: &quoted)
                escapedMethod = quoted
            } else {
                escapedMethod = nil
            }
            let method = escapedMethod?.count ?? job.method.utf8.count + 2
            let params = job.params.map { Self.paramsLabel.utf8CodeUnitCount + $0.count } ?? 0
            length =
                Self.opening.utf8CodeUnitCount + method + params + Self.idLabel.utf8CodeUnitCount
                + RawBytesWriter.decimalLength(job.id) + 1
        }

        private static let opening: StaticString = "{\"jsonrpc\":\"2.0\",\"method\":"
        private static let paramsLabel: StaticString = ",\"params\":"
        private static let idLabel: StaticString = ",\"id\":"

        /// Writes the request object: `length` bytes.
        func write(to writer: inout RawBytesWriter) {
            writer.append(Self.opening)
            if let escapedMethod {
                writer.append(escapedMethod)
            } else {
                writer.append("\"" as StaticString)
                writer.append(job.method)
                writer.append("\"" as StaticString)
            }
            if let params = job.params {
                writer.append(Self.paramsLabel)
                writer.append(params)
            }
            writer.append(Self.idLabel)
            writer.append(decimal: job.id)
            writer.append("}" as StaticString)
        }
    }
}
