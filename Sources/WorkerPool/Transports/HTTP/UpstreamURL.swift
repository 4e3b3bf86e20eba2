/// An `http://host:port/path` upstream address.
public struct UpstreamURL: Sendable, Equatable, CustomStringConvertible {
    /// Host name or IP address (IPv6 without brackets).
    public var host: String
    /// TCP port (80 when the URL names none).
    public var port: Int
    /// Request target, starting with `/`.
    public var path: String

    public init(host: String, port: Int, path: String = "/") {
        self.host = host
        self.port = port
        self.path = path
    }

    /// Parses `http://host[:port][/path]`; `https` is refused (no TLS in this transport).
    public init(parsing text: String) throws(UpstreamURLError) {
        guard text.hasPrefix("http://") else {
            if text.hasPrefix("https://") {
                throw UpstreamURLError(message: "https upstreams are not supported yet: \(text)")
            }
            throw UpstreamURLError(message: "upstream URL must start with http:// (got '\(text)')")
        }
        let rest = text.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw UpstreamURLError(message: "invalid IPv6 address in '\(text)'")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw UpstreamURLError(message: "invalid upstream URL '\(text)'")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw UpstreamURLError(message: "upstream URL has no host: '\(text)'") }
        var port = 80
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw UpstreamURLError(message: "invalid port in upstream URL '\(text)'")
            }
            port = parsed
        }
        self.init(host: String(host), port: port, path: path.isEmpty ? "/" : String(path))
    }

    /// The value of the `Host` header.
    var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? bracketed : "\(bracketed):\(port)"
    }

    public var description: String { "http://\(hostHeader)\(path)" }
}

/// A malformed upstream URL.
public struct UpstreamURLError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
