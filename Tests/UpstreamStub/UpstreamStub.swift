import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization
import WorkerPool

/// A JSON-RPC-over-HTTP/1.1 upstream on loopback for tests and benchmarks.
///
/// It parses requests with NIO's decoder but writes responses as raw bytes, so a test can send
/// exactly what it wants: results, errors, any status, `Connection: close`, garbage, truncated
/// chunked bodies, or nothing at all (a stall). It records what it saw: connections accepted,
/// requests, the peak of requests in flight, and how often each JSON-RPC id arrived.
public final class UpstreamStub: Sendable {
    /// What the stub received.
    public struct Request: Sendable {
        /// The JSON-RPC id, when the body had an integer one.
        public var id: Int64?
        public var method: String?
        public var idempotencyKey: String?
        /// Every request header, in the order received.
        public var headers: [(name: String, value: String)] = []
        public var body: String
        /// 1-based number of this request among all the stub received.
        public var sequence: Int
        /// How many times this id has been seen, this request included.
        public var timesSeen: Int
        /// Requests in flight when this one arrived, this one included.
        public var inFlight: Int = 1
    }

    /// What the stub answers.
    public indirect enum Reply: Sendable {
        /// 200 with `{"jsonrpc":"2.0","result":<json>,"id":<id>}`.
        case result(String)
        /// 200 with a JSON-RPC error object.
        case rpcError(code: Int, message: String)
        /// Any status with a body and extra headers.
        case status(Int, body: String = "", headers: [(String, String)] = [])
        /// Bytes written as they are, then the connection is closed.
        case raw(String)
        /// A chunked response whose connection closes mid-body.
        case truncatedChunked
        /// Never answer.
        case stall
        /// Answer with `reply` and `Connection: close`, then close.
        case closing(Reply)
        /// Answer with `reply` after `milliseconds`.
        case delayed(Int64, Reply)
    }

    /// Serving over TLS: the server's certificate and key, and optionally the CA that client
    /// certificates must chain to (then a client certificate is required).
    public struct TLS: Sendable {
        public var certificateFile: String
        public var keyFile: String
        public var clientCAFile: String?

        public init(certificateFile: String, keyFile: String, clientCAFile: String? = nil) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.clientCAFile = clientCAFile
        }

        func makeContext(applicationProtocols: [String] = []) throws -> NIOSSLContext {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem)))
            configuration.applicationProtocols = applicationProtocols
            if let clientCAFile {
                configuration.certificateVerification = .noHostnameVerification
                configuration.trustRoots = .file(clientCAFile)
            }
            return try NIOSSLContext(configuration: configuration)
        }
    }

    /// Decides the reply for each request; called on an event loop thread.
    public typealias Behavior = @Sendable (Request) -> Reply

    struct Counters {
        var connectionsAccepted = 0
        var openConnections = 0
        var requests = 0
        var inFlight = 0
        var peakInFlight = 0
        var timesSeen: [Int64: Int] = [:]
        var handshakes = 0
        var arrivals: [ContinuousClock.Instant] = []
        var received: [Request] = []
    }

    let behavior: Behavior
    /// Whether every request is kept for `receivedRequests` (off for benchmarks' millions).
    let recordsRequests: Bool
    let counters = Mutex(Counters())
    let channels = Mutex<[any Channel]>([])
    let group: any EventLoopGroup
    let serverChannel = Mutex<(any Channel)?>(nil)

    /// Echoes `{"echo":<id>}` as the result of every call.
    public static let echo: Behavior = { request in .result("{\"echo\":\(request.id ?? -1)}") }

    public init(
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        recordsRequests: Bool = false,
        behavior: @escaping Behavior = UpstreamStub.echo
    ) {
        self.group = group
        self.recordsRequests = recordsRequests
        self.behavior = behavior
    }

    /// Starts listening on `host` at `port` (0: any free port) and returns the port; with
    /// `tls`, serves HTTPS.
    @discardableResult
    public func start(host: String = "127.0.0.1", port: Int = 0, tls: TLS? = nil) async throws -> Int {
        let tlsContext = try tls?.makeContext()
        // Instantiate the decoder's generic metadata here, once: the CI run of 291bcf1 crashed in
        // the Swift runtime's metadata lookup when the first stub of the process took sixteen
        // connections at once and each event loop thread instantiated it concurrently.
        _ = ByteToMessageHandler(HTTPRequestDecoder())
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext))
                        try channel.pipeline.syncOperations.addHandler(HandshakeCounter(stub: self))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
                    try channel.pipeline.syncOperations.addHandler(StubConnectionHandler(stub: self))
                }
            }
            .bind(host: host, port: port).get()
        serverChannel.withLock { $0 = channel }
        return channel.localAddress?.port ?? 0
    }

    /// Starts on a free port below Linux's ephemeral range (32768-60999) and returns it.
    ///
    /// For tests that stop the stub and keep connecting to its port: a port in the ephemeral
    /// range can be handed to the client's own socket, which then connects to itself (TCP
    /// simultaneous open) instead of being refused.
    @discardableResult
    public func startBelowEphemeralPorts(host: String = "127.0.0.1") async throws -> Int {
        var lastError: (any Error)?
        for _ in 0..<200 {
            do {
                return try await start(host: host, port: Int.random(in: 20_000..<32_000))
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    /// The port the stub listens on.
    public var port: Int {
        serverChannel.withLock { $0?.localAddress?.port } ?? 0
    }

    /// Stops listening and closes every connection.
    public func stop() async {
        let server = serverChannel.withLock { channel -> (any Channel)? in
            defer { channel = nil }
            return channel
        }
        try? await server?.close()
        let open = channels.withLock { list -> [any Channel] in
            defer { list.removeAll() }
            return list
        }
        for channel in open { try? await channel.close() }
    }

    /// Closes every open connection but keeps listening (an upstream restart, seen by clients
    /// as resets).
    public func dropConnections() async {
        let open = channels.withLock { list -> [any Channel] in
            defer { list.removeAll() }
            return list
        }
        for channel in open { try? await channel.close() }
    }

    public var connectionsAccepted: Int { counters.withLock { $0.connectionsAccepted } }
    /// TLS handshakes completed (HTTPS only): the TLS connections clients really opened.
    public var tlsHandshakes: Int { counters.withLock { $0.handshakes } }
    /// When each request arrived, in order.
    public var arrivals: [ContinuousClock.Instant] { counters.withLock { $0.arrivals } }
    public var openConnections: Int { counters.withLock { $0.openConnections } }
    public var requests: Int { counters.withLock { $0.requests } }
    public var peakInFlight: Int { counters.withLock { $0.peakInFlight } }
    /// Every request received, in order, when the stub was made with `recordsRequests`.
    public var receivedRequests: [Request] { counters.withLock { $0.received } }
    /// How many times each JSON-RPC id arrived.
    public var timesSeen: [Int64: Int] { counters.withLock { $0.timesSeen } }

    func register(_ channel: any Channel) {
        counters.withLock {
            $0.connectionsAccepted += 1
            $0.openConnections += 1
        }
        channels.withLock { $0.append(channel) }
    }

    func unregister(_ channel: any Channel) {
        counters.withLock { $0.openConnections -= 1 }
        channels.withLock { list in list.removeAll { $0 === channel } }
    }

    func received(body: String, idempotencyKey: String?, headers: [(name: String, value: String)] = []) -> Request {
        var id: Int64?
        var method: String?
        var bytes = Array(body.utf8)
        bytes.withUnsafeMutableBytes { raw in
            let buffer = UnsafeRawBufferPointer(raw)
            try? JSONScanner.scanObject(buffer) { key, range in
                if key == "id" { id = JSONScanner.decodeInteger(buffer, range) }
                if key == "method" { method = try? JSONScanner.decodeString(buffer, range) }
            }
        }
        return counters.withLock { counters in
            counters.requests += 1
            counters.arrivals.append(.now)
            counters.inFlight += 1
            counters.peakInFlight = max(counters.peakInFlight, counters.inFlight)
            var seen = 0
            if let id {
                seen = (counters.timesSeen[id] ?? 0) + 1
                counters.timesSeen[id] = seen
            }
            let request = Request(
                id: id, method: method, idempotencyKey: idempotencyKey, headers: headers, body: body,
                sequence: counters.requests, timesSeen: seen, inFlight: counters.inFlight)
            if recordsRequests { counters.received.append(request) }
            return request
        }
    }

    func answered() {
        counters.withLock { $0.inFlight -= 1 }
    }
}

/// One server connection of the stub.
final class StubConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    let stub: UpstreamStub
    var body = ""
    var idempotencyKey: String?
    var headers: [(name: String, value: String)] = []
    var keepAlive = true

    init(stub: UpstreamStub) {
        self.stub = stub
    }

    func channelActive(context: ChannelHandlerContext) {
        stub.register(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stub.unregister(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            body = ""
            idempotencyKey = head.headers.first(name: "Idempotency-Key")
            if stub.recordsRequests { headers = head.headers.map { ($0.name, $0.value) } }
            keepAlive = head.isKeepAlive
        case .body(let buffer):
            body += String(buffer: buffer)
        case .end:
            let request = stub.received(body: body, idempotencyKey: idempotencyKey, headers: headers)
            respond(stub.behavior(request), to: request, context: context, close: !keepAlive)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func respond(
        _ reply: UpstreamStub.Reply, to request: UpstreamStub.Request, context: ChannelHandlerContext, close: Bool
    ) {
        let id = request.id.map(String.init) ?? "null"
        switch reply {
        case .result(let json):
            write(
                "HTTP/1.1 200 OK", body: "{\"jsonrpc\":\"2.0\",\"result\":\(json),\"id\":\(id)}", close: close,
                context: context)
        case .rpcError(let code, let message):
            write(
                "HTTP/1.1 200 OK",
                body: "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":\(code),\"message\":\"\(message)\"},\"id\":\(id)}",
                close: close, context: context)
        case .status(let status, let body, let headers):
            write("HTTP/1.1 \(status) Status", body: body, headers: headers, close: close, context: context)
        case .raw(let text):
            stub.answered()
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text))).whenComplete { _ in
                channel.close(promise: nil)
            }
        case .truncatedChunked:
            stub.answered()
            let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{\"jsonrpc\":\"2.0\",\"res"
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text))).whenComplete { _ in
                channel.close(promise: nil)
            }
        case .stall:
            stub.answered()
        case .closing(let inner):
            respond(inner, to: request, context: context, close: true)
        case .delayed(let milliseconds, let inner):
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(milliseconds)) {
                let (handler, context) = bound.value
                handler.respond(inner, to: request, context: context, close: close)
                context.flush()
            }
        }
    }

    private func write(
        _ statusLine: String, body: String, headers: [(String, String)] = [], close: Bool,
        context: ChannelHandlerContext
    ) {
        var text = statusLine + "\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if close { text += "Connection: close\r\n" }
        text += "\r\n" + body
        stub.answered()
        if close {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text))).whenComplete { _ in
                channel.close(promise: nil)
            }
        } else {
            context.write(wrapOutboundOut(ByteBuffer(string: text)), promise: nil)
        }
    }
}

/// Counts completed TLS handshakes.
final class HandshakeCounter: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    let stub: UpstreamStub

    init(stub: UpstreamStub) {
        self.stub = stub
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            stub.counters.withLock { $0.handshakes += 1 }
        }
        context.fireUserInboundEventTriggered(event)
    }
}
