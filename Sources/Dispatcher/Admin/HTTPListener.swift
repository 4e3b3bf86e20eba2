import Hummingbird
import Logging

/// Serves a router on Hummingbird until the service group shuts it down, logging the bound
/// address once (port 0 asks for a free one, which tests and scripts read from that line).
enum HTTPListener {
    static func serve(
        _ router: Router<BasicRequestContext>, host: String, port: Int, what: String, logger: Logger
    ) async throws {
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("\(what) listening", metadata: ["address": "\(host):\(port)"])
            },
            logger: logger)
        try await application.run()
    }
}
