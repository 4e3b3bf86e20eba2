/// Where the admin endpoint listens: `--admin PORT`, `--admin :PORT` or `--admin HOST:PORT`.
///
/// Without a host it binds to 127.0.0.1. A non-loopback host (including the wildcards 0.0.0.0
/// and ::) exposes metrics, health and the dashboard to the network, so it is refused unless the
/// operator also passes `--admin-public` and sets an admin token — an address is never exposed
/// by accident, and the dashboard's actions never without a credential.
struct AdminAddress: Equatable, Sendable {
    var host: String
    var port: Int

    init(parsing text: String, allowPublic: Bool, hasToken: Bool = false) throws {
        let (host, port) = try Self.hostAndPort(text, flag: "--admin", example: "127.0.0.1:9464")
        if !Self.isLoopback(host) && !allowPublic {
            throw DispatcherError(
                "refusing to serve the admin endpoint on non-loopback address \(host); pass --admin-public to allow it")
        }
        if !Self.isLoopback(host) && !hasToken {
            throw DispatcherError(
                "refusing to serve the dashboard on non-loopback address \(host) without --admin-token (or DISPATCHER_ADMIN_TOKEN)"
            )
        }
        self.host = host
        self.port = port
    }

    /// The `Host` header values a browser sends for this address when it is a loopback one
    /// (any port: the listener may have been given port 0), or nil for a public address, where
    /// the operator's own DNS names are unknown and the admin token guards the dashboard instead.
    ///
    /// Checking them defeats DNS rebinding: a web page whose name was re-pointed at 127.0.0.1
    /// would otherwise be same-origin with a token-less dashboard.
    var hostHeaders: Set<String>? {
        guard Self.isLoopback(host) else { return nil }
        return ["127.0.0.1", "localhost", "[::1]", host.contains(":") ? "[\(host)]" : host]
    }

    /// `PORT`, `:PORT`, `HOST:PORT` or `[IPv6]:PORT` as a listener flag takes it; the host is
    /// 127.0.0.1 when none is named.
    static func hostAndPort(_ text: String, flag: String, example: String) throws -> (host: String, port: Int) {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if let colon = text.lastIndex(of: ":") {
            let named = text[..<colon]
            portText = text[text.index(after: colon)...]
            if !named.isEmpty {
                host =
                    named.hasPrefix("[") && named.hasSuffix("]") ? String(named.dropFirst().dropLast()) : String(named)
            }
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw DispatcherError("invalid \(flag) '\(text)'; expected PORT or HOST:PORT, e.g. \(example)")
        }
        return (host, port)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
