import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A loopback HTTP/1.1 upstream that answers each JSON-RPC request with scripted bytes, written
/// in pieces a millisecond apart so that the client reads them separately: for framings and
/// splits the shared `UpstreamStub` does not produce.
final class ScriptedUpstream: Sendable {
    /// The bytes of one answer, written piece by piece; with `close`, the connection closes after.
    struct Answer: Sendable {
        var pieces: [String]
        var close = false

        /// `text` cut into pieces of `size` bytes.
        static func split(_ text: String, every size: Int, close: Bool = false) -> Answer {
            let bytes = Array(text.utf8)
            let pieces = stride(from: 0, to: bytes.count, by: size).map {
                String(decoding: bytes[$0..<min(bytes.count, $0 + size)], as: UTF8.self)
            }
            return Answer(pieces: pieces, close: close)
        }
    }

    let script: @Sendable (_ id: Int64) -> Answer
    private let channel = Mutex<(any Channel)?>(nil)
    private let accepted = Mutex(0)

    /// Connections accepted so far.
    var connectionsAccepted: Int { accepted.withLock { $0 } }

    init(script: @escaping @Sendable (_ id: Int64) -> Answer) {
        self.script = script
    }

    /// The JSON-RPC result object for `id`, as the client expects it back.
    static func result(_ id: Int64) -> String {
        "{\"jsonrpc\":\"2.0\",\"result\":\"ok \(id)\",\"id\":\(id)}"
    }

    /// Starts listening on a free loopback port and returns it.
    func start() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                self.accepted.withLock { $0 += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
                    try channel.pipeline.syncOperations.addHandler(ScriptedConnectionHandler(script: self.script))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.channel.withLock { $0 = channel }
        return channel.localAddress?.port ?? 0
    }

    func stop() async {
        let channel = self.channel.withLock { $0 }
        try? await channel?.close()
    }
}

/// Reads requests with NIO's decoder and writes the scripted answers as raw bytes.
private final class ScriptedConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    let script: @Sendable (Int64) -> ScriptedUpstream.Answer
    var body = ""

    init(script: @escaping @Sendable (Int64) -> ScriptedUpstream.Answer) {
        self.script = script
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            body = ""
        case .body(let buffer):
            body += String(buffer: buffer)
        case .end:
            let answer = script(Self.id(in: body))
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            for (index, piece) in answer.pieces.enumerated() {
                context.eventLoop.scheduleTask(in: .milliseconds(Int64(index))) {
                    let (handler, context) = bound.value
                    context.writeAndFlush(handler.wrapOutboundOut(ByteBuffer(string: piece)), promise: nil)
                    if answer.close, index == answer.pieces.count - 1 {
                        context.close(promise: nil)
                    }
                }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// The request's `"id":N` (the encoder writes it without spaces).
    static func id(in body: String) -> Int64 {
        guard let range = body.range(of: "\"id\":") else { return -1 }
        return Int64(body[range.upperBound...].prefix { $0.isNumber }) ?? -1
    }
}
