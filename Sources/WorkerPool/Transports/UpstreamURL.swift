/// An upstream address, `scheme://[user:password@]host[:port][/path]`.
///
/// Credentials in the URL (percent-decoded) become HTTP basic auth (`basicAuthorization`). They
/// never appear in `description`, and error messages show the password as `***`.
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
    /// The user and password the URL names, percent-decoded; nil when it names none.
    public var credentials: Credentials?

    /// A user name and password for HTTP basic auth.
    public struct Credentials: Sendable, Hashable {
        public var user: String
        public var password: String

        public init(user: String, password: String) {
            self.user = user
            self.password = password
        }
    }

    public init(
        scheme: Scheme = .http, host: String, port: Int, path: String = "/", credentials: Credentials? = nil
    ) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.credentials = credentials
    }

    /// Parses `scheme://[user:password@]host[:port][/path]` with one of the schemes in `Scheme`.
    ///
    /// - Throws: `UpstreamURLError`, whose message shows the URL with its password as `***`.
    public init(parsing text: String) throws(UpstreamURLError) {
        let shown = Self.redacting(text)
        let schemeText = text.prefix { $0 != ":" }
        guard text.dropFirst(schemeText.count).hasPrefix("://"),
            let scheme = Scheme(rawValue: schemeText.lowercased())
        else {
            throw UpstreamURLError(
                message: "upstream URL must start with http://, https://, grpc:// or grpcs:// (got '\(shown)')")
        }
        let rest = text.dropFirst(schemeText.count + 3)
        var authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        var credentials: Credentials?
        // The last `@` ends the user information: a password may hold a raw `@`, a host never does.
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let user = userInfo.prefix { $0 != ":" }
            let password = userInfo.dropFirst(user.count + 1)
            guard !user.isEmpty, let decodedUser = Self.percentDecoded(user),
                let decodedPassword = Self.percentDecoded(password)
            else {
                throw UpstreamURLError(message: "invalid user information in upstream URL '\(shown)'")
            }
            credentials = Credentials(user: decodedUser, password: decodedPassword)
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw UpstreamURLError(message: "invalid IPv6 address in '\(shown)'")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw UpstreamURLError(message: "invalid upstream URL '\(shown)'")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw UpstreamURLError(message: "upstream URL has no host: '\(shown)'") }
        var port = scheme.defaultPort
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw UpstreamURLError(message: "invalid port in upstream URL '\(shown)'")
            }
            port = parsed
        }
        self.init(
            scheme: scheme, host: String(host), port: port, path: path.isEmpty ? "/" : String(path),
            credentials: credentials)
    }

    /// `text` with the password of its user information replaced by `***`, for messages about a
    /// URL that may not even parse.
    public static func redacting(_ text: String) -> String {
        let scheme = text.prefix { $0 != ":" }
        guard text[scheme.endIndex...].hasPrefix("://") else { return text }
        let authority = text[scheme.endIndex...].dropFirst(3).prefix { $0 != "/" }
        guard let at = authority.lastIndex(of: "@") else { return text }
        let userInfo = authority[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<userInfo.index(after: colon)]) + "***" + String(text[at...])
    }

    /// RFC 3986 percent-decoding; nil for a malformed escape or bytes that are not UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes = [UInt8]()
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(UInt8(high << 4 | low))
        }
        return String(validating: bytes, as: UTF8.self)
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
