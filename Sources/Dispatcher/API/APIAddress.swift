/// Where the enqueue API listens: `--api PORT`, `--api :PORT` or `--api HOST:PORT`.
///
/// Without a host it binds to 127.0.0.1. Anyone who reaches a non-loopback address could
/// enqueue calls to the upstream, so one is refused unless a token guards it (`--api-token` or
/// `DISPATCHER_API_TOKEN`).
struct APIAddress: Equatable, Sendable {
    var host: String
    var port: Int

    init(parsing text: String, hasToken: Bool) throws {
        (host, port) = try AdminAddress.hostAndPort(text, flag: "--api", example: "127.0.0.1:8080")
        if !AdminAddress.isLoopback(host) && !hasToken {
            throw DispatcherError(
                "refusing to serve the enqueue API on non-loopback address \(host) without --api-token (or DISPATCHER_API_TOKEN)"
            )
        }
    }

    /// Whether the API shares the admin listener: the same address, given twice (port 0 asks
    /// for two ports).
    func isShared(with admin: AdminAddress?) -> Bool {
        guard let admin else { return false }
        return admin.host == host && admin.port == port && port != 0
    }
}
