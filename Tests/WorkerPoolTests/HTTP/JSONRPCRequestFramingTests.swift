import NIOCore
import Testing

@testable import WorkerPool

/// The request bytes a call puts on the wire: measured and written in one reservation, they must
/// be exactly the bytes the protocol text describes, whatever the id, params and method.
@Suite("JSON-RPC request framing")
struct JSONRPCRequestFramingTests {
    static let url = UpstreamURL(host: "127.0.0.1", port: 8545, path: "/rpc")

    static func framed(_ job: RPCJob) -> String {
        var request = ByteBuffer(string: "left over from the previous call")
        JSONRPCRequestFraming(url: url).frame(job, into: &request)
        return String(buffer: request)
    }

    static func expected(key: String, body: String) -> String {
        "POST /rpc HTTP/1.1\r\nHost: 127.0.0.1:8545\r\nContent-Type: application/json\r\n"
            + "Idempotency-Key: \(key)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    @Test(arguments: [
        (Int64(42), "eth_call", Optional("[\"0x1\",\"latest\"]"), Optional<String>.none),
        (Int64(0), "m", nil, "order-7"),
        (Int64.max, "ping", "{}", nil),
        (Int64(-9_000), "näme", "[1,2,3]", "ключ"),
        (Int64(1_000_000_000), "a\"b\\c\nd\u{1}", "[]", nil),
    ])
    func aRequestIsExactlyTheProtocolsBytes(id: Int64, method: String, params: String?, key: String?) {
        let job = RPCJob(
            id: id, method: method, params: params.map { Array($0.utf8) }, idempotencyKey: key, timeout: .seconds(1))
        var body = "{\"jsonrpc\":\"2.0\",\"method\":\(JSONEscaping.quoted(method))"
        if let params { body += ",\"params\":\(params)" }
        body += ",\"id\":\(id)}"
        #expect(Self.framed(job) == Self.expected(key: key ?? String(id), body: body))

        var encoded = ByteBuffer(string: "x")
        JSONRPCRequestEncoder.encode(job, into: &encoded)
        #expect(String(buffer: encoded) == "x" + body)
    }

    @Test(arguments: [Int64.min, -10, -9, -1, 0, 9, 10, 99, 100, Int64.max])
    func decimalsAreMeasuredAsWritten(value: Int64) {
        var storage = [UInt8](repeating: 0, count: 20)
        let written = storage.withUnsafeMutableBytes { raw in
            var writer = RawBytesWriter(raw)
            writer.append(decimal: value)
            return writer.count
        }
        #expect(written == RawBytesWriter.decimalLength(value))
        #expect(String(decoding: storage.prefix(written), as: UTF8.self) == String(value))
    }
}
