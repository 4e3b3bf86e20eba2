import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

/// A lean gRPC upstream for the benchmarks: gRPC's wire protocol over cleartext HTTP/2 (h2c),
/// straight on swift-nio-http2, where every unary call to a known method is answered with the
/// request's message (echo) and `grpc-status: 0`; an unknown method gets `UNIMPLEMENTED`.
///
/// The tests' stub (`GRPCUpstreamStub`) records what it saw and can answer anything; this one
/// does the least a server can, so that a benchmark of the dispatcher's gRPC client measures as
/// little server as possible on the same two cores.
enum RawGRPCEchoServer {
    /// Listens on 127.0.0.1 at `port` (0: any free port); returns the bound port.
    static func start(port: Int, methods: Set<String>, group: any EventLoopGroup) async throws -> Int {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.configureHTTP2Pipeline(
                    mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                ) { stream in
                    stream.eventLoop.makeCompletedFuture(withResultOf: {
                        try stream.pipeline.syncOperations.addHandler(UnaryEchoHandler(methods: methods))
                    })
                }.map { _ in }
            }
            .bind(host: "127.0.0.1", port: port).get()
        guard let bound = channel.localAddress?.port else { throw ChannelError.unknownLocalAddress }
        return bound
    }
}

/// One HTTP/2 stream: one unary call. The request's DATA is already a length-prefixed gRPC
/// message, so echoing it is sending the same bytes back.
private final class UnaryEchoHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    let methods: Set<String>
    private var path = ""
    private var message: ByteBuffer?

    init(methods: Set<String>) {
        self.methods = methods
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            path = headers.headers.first(name: ":path") ?? ""
            if headers.endStream { respond(context: context) }
        case .data(let frame):
            if case .byteBuffer(var bytes) = frame.data {
                if message == nil {
                    message = bytes
                } else {
                    message!.writeBuffer(&bytes)
                }
            }
            if frame.endStream { respond(context: context) }
        default:
            break
        }
    }

    private func respond(context: ChannelHandlerContext) {
        let known = path.hasPrefix("/") && methods.contains(String(path.dropFirst()))
        guard known, let message else {
            // Trailers-only: the status travels in the one HEADERS frame.
            let headers: HPACKHeaders = [
                ":status": "200", "content-type": "application/grpc", "grpc-status": known ? "13" : "12",
                "grpc-message": known ? "no request message" : "unknown method",
            ]
            context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: headers, endStream: true))), promise: nil)
            return
        }
        let headers: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
        context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(message)))), promise: nil)
        context.writeAndFlush(
            wrapOutboundOut(.headers(.init(headers: ["grpc-status": "0"], endStream: true))), promise: nil)
        self.message = nil
    }
}
