/// An upstream address, `scheme://host[:port][/path]`.
///
/// The scheme picks the transport (the daemon's builder makes that choice, once):
///
/// | scheme  | transport                          | default port |
/// |---------|------------------------------------|--------------|
/// | `http`  | JSON-RPC 2.0 over HTTP/1.1         | 80           |
/// | `https` | JSON-RPC 2.0 over HTTP/1.1 and TLS | 443          |
/// | `grpc`  | gRPC over HTTP/2 (cleartext)       | 80           |
/// | `grpcs` | gRPC over HTTP/2 and TLS           | 443          |
public struct UpstreamURL: Sendable, Hashable, CustomStringConvertible {
    /// How the upstream is spoken to.
    public enum Scheme: String, Sendable, Hashable, CaseIterable {
        case http, https, grpc, grpcs

        /// Whether connections use TLS.
        public var usesTLS: Bool { self == .https || self == .grpcs }

        /// The port used when the URL names none.
        public var defaultPort: Int { usesTLS ? 443 : 80 }
    }

    /// How the upstream is spoken to.
    public var scheme: Scheme
    /// Host name or IP address (IPv6 without brackets).
    public var host: String
    /// TCP port (the scheme's default when the URL names none).
    public var port: Int
    /// Request target, starting with `/`.
    public var path: String

    public init(scheme: Scheme = .http, host: String, port: Int, path: String = "/") {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
    }

    /// Parses `scheme://host[:port][/path]` with one of the schemes in `Scheme`.
    public init(parsing text: String) throws(UpstreamURLError) {
        let schemeText = text.prefix { $0 != ":" }
        guard text.dropFirst(schemeText.count).hasPrefix("://"),
            let scheme = Scheme(rawValue: schemeText.lowercased())
        else {
            throw UpstreamURLError(
                message: "upstream URL must start with http://, https://, grpc:// or grpcs:// (got '\(text)')")
        }
        let rest = text.dropFirst(schemeText.count + 3)
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
        guard !host.contains("@") else {
            throw UpstreamURLError(message: "credentials in the upstream URL are not supported: '\(text)'")
        }
        var port = scheme.defaultPort
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw UpstreamURLError(message: "invalid port in upstream URL '\(text)'")
            }
            port = parsed
        }
        self.init(scheme: scheme, host: String(host), port: port, path: path.isEmpty ? "/" : String(path))
    }

    /// Whether `host` is an IPv4 or IPv6 literal (checked against the certificate's IP SANs,
    /// and never sent as SNI).
    public var hostIsIPAddress: Bool {
        if host.contains(":") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in UInt8(part) != nil }
    }

    /// `host[:port]` as in a `Host` header or an HTTP/2 `:authority`: the port only when it is
    /// not the scheme's default.
    public var authority: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == scheme.defaultPort ? bracketed : "\(bracketed):\(port)"
    }

    public var description: String { "\(scheme.rawValue)://\(authority)\(path)" }
}

/// A malformed upstream URL.
public struct UpstreamURLError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
