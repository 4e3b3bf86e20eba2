import Foundation

/// A minimal blocking HTTP/1.1 client over loopback for the dashboard and WebDriver tests:
/// any method, request headers and body; response status, headers and body (read to EOF on a
/// `Connection: close` exchange, bounded by a 30 s receive timeout), one request per connection
/// or several on one (`Connection`).
enum HTTPClient {
    struct Response {
        var status: Int
        /// Header names lower-cased, in order.
        var headers: [(name: String, value: String)]
        var body: String

        func header(_ name: String) -> String? {
            headers.first { $0.name == name.lowercased() }?.value
        }
    }

    static func request(
        port: Int, _ method: String, _ path: String, headers: [(String, String)] = [], body: String? = nil
    ) throws -> Response {
        try Connection(port: port).send(method, path, headers: headers, body: body, close: true)
    }

    /// One connection, for several requests on it (keep-alive) or one with `Connection: close`.
    final class Connection {
        let port: Int
        private let descriptor: Int32

        init(port: Int) throws {
            self.port = port
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw DispatcherTestError("socket failed") }
            var timeout = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                close(descriptor)
                throw DispatcherTestError("connect to \(port) failed")
            }
        }

        deinit { close(descriptor) }

        func send(
            _ method: String, _ path: String, headers: [(String, String)] = [], body: String? = nil, close: Bool = false
        ) throws -> Response {
            var head = "\(method) \(path) HTTP/1.1\r\n" + (close ? "Connection: close\r\n" : "")
            if !headers.contains(where: { $0.0.lowercased() == "host" }) { head += "Host: 127.0.0.1:\(port)\r\n" }
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            let bodyBytes = Array((body ?? "").utf8)
            if body != nil { head += "Content-Length: \(bodyBytes.count)\r\n" }
            let request = Array((head + "\r\n").utf8) + bodyBytes
            var sent = 0
            while sent < request.count {
                let count = request[sent...].withUnsafeBytes {
                    Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                // A server may answer (413) and close before the whole body is sent.
                guard count > 0 else { break }
                sent += count
            }
            var data = [UInt8]()
            var chunk = [UInt8](repeating: 0, count: 65536)
            // Some peers (chromedriver) keep the connection open despite `Connection: close`:
            // stop reading once the response is complete rather than wait for EOF.
            while !HTTPClient.isComplete(data) {
                let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                if count <= 0 { break }
                data += chunk[0..<count]
            }
            return try HTTPClient.parse(data)
        }
    }

    private static func parse(_ data: [UInt8]) throws -> Response {
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else {
            throw DispatcherTestError("malformed HTTP response: \(text.prefix(200))")
        }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") else {
            throw DispatcherTestError("malformed status line: \(lines.first ?? "")")
        }
        let parsed = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (
                line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            )
        }
        var bodyText = String(text[split.upperBound...])
        if parsed.contains(where: { $0.name == "transfer-encoding" && $0.value.lowercased() == "chunked" }) {
            bodyText = dechunk(bodyText)
        }
        return Response(status: status, headers: parsed, body: bodyText)
    }

    /// Whether `data` holds a whole response: headers, then Content-Length bytes or a last chunk.
    private static func isComplete(_ data: [UInt8]) -> Bool {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = data.indices.dropLast(3).first(where: { data[$0..<($0 + 4)].elementsEqual(separator) }) else {
            return false
        }
        let head = String(decoding: data[..<end], as: UTF8.self).lowercased()
        let bodyCount = data.count - end - 4
        for line in head.components(separatedBy: "\r\n") where line.hasPrefix("content-length:") {
            if let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) {
                return bodyCount >= length
            }
        }
        if head.contains("transfer-encoding: chunked") {
            return data.suffix(5).elementsEqual([48, 13, 10, 13, 10])
        }
        // 204/304 and HEAD answers have no body; anything else without a length ends at EOF.
        return head.hasPrefix("http/1.1 204") || head.hasPrefix("http/1.1 304")
    }

    private static func dechunk(_ text: String) -> String {
        var rest = Substring(text)
        var output = ""
        while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 {
            let start = lineEnd.upperBound
            let bytes = Array(rest[start...].utf8)
            output += String(decoding: bytes.prefix(size), as: UTF8.self)
            rest = Substring(String(decoding: bytes.dropFirst(size + 2), as: UTF8.self))
        }
        return output
    }
}
