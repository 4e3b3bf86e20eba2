import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// The daemon's admin HTTP endpoint: `GET /metrics` (Prometheus text) and `GET /healthz`.
///
/// A small HTTP/1.1 server on NIO: responses are built synchronously from the Prometheus
/// registry and the `HealthState`, so no request ever waits on the database. Unknown paths get
/// 404, other methods 405. It is the first service of the group, so it is shut down last and
/// keeps answering (`/healthz` with 503) while the daemon drains.
struct AdminServer: Service, CustomStringConvertible {
    let address: AdminAddress
    let registry: PrometheusCollectorRegistry
    let health: HealthState
    let logger: Logger

    var description: String { "AdminServer(\(address.host):\(address.port))" }

    func run() async throws {
        let registry = self.registry
        let health = self.health
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(registry: registry, health: health))
                }
            }
            .bind(host: address.host, port: address.port).get()
        let port = channel.localAddress?.port ?? address.port
        logger.info("admin endpoint listening", metadata: ["address": "\(address.host):\(port)"])
        // Serve until graceful shutdown (which reaches this service after the daemon is done).
        try? await gracefulShutdown()
        try? await channel.close()
    }
}

/// Answers one admin request at a time per connection.
final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let registry: PrometheusCollectorRegistry
    let health: HealthState
    private var request: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry, health: HealthState) {
        self.registry = registry
        self.health = health
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            let (status, contentType, body) = respond(to: head)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(body.count))
            if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            let keepAlive = head.isKeepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }

    private func respond(to head: HTTPRequestHead) -> (HTTPResponseStatus, String, [UInt8]) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch path {
        case "/metrics", "/healthz":
            guard head.method == .GET || head.method == .HEAD else {
                return (.methodNotAllowed, "application/json", Array("{\"error\":\"method not allowed\"}".utf8))
            }
            if path == "/metrics" {
                return (.ok, "text/plain; version=0.0.4; charset=utf-8", registry.emitToBuffer())
            }
            let (status, body) = health.response()
            return (HTTPResponseStatus(statusCode: status), "application/json", Array(body.utf8))
        default:
            return (.notFound, "application/json", Array("{\"error\":\"not found\"}".utf8))
        }
    }
}
