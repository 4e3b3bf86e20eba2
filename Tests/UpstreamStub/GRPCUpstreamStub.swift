import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// A gRPC upstream on loopback for tests and benchmarks: unary gRPC over HTTP/2 straight on
/// swift-nio-http2, whose handlers see raw message bytes, so a test decides every reply (a
/// message, any status, a delay, a refused stream).
///
/// It can behave as busy real servers do: `pingAfterEveryResponse` sends a PING after each
/// response, as grpc-go and gRPC C-core do to estimate the bandwidth-delay product; `goAwayEvery`
/// retires a connection with GOAWAY after that many streams (a server's max connection age, a
/// graceful restart), and a stream the client opens after that is refused, never run.
///
/// It records what it saw: TCP connections accepted, calls executed, each call's method,
/// metadata and how often each idempotency key arrived, PINGs and GOAWAYs sent, streams refused.
public final class GRPCUpstreamStub: Sendable {
    /// One call the stub received.
    public struct Call: Sendable {
        /// `package.Service/Method`.
        public var method: String
        /// The request message.
        public var message: [UInt8]
        /// The `idempotency-key` metadata.
        public var idempotencyKey: String?
        /// The `grpc-timeout` header: the deadline the client sent (such as `"499m"`).
        public var timeout: String?
        /// Every header of the request, pseudo-headers included, in the order received.
        public var headers: [(name: String, value: String)]
        /// How many calls with this idempotency key arrived, this one included.
        public var timesSeen: Int
    }

    /// A gRPC status code.
    public enum StatusCode: Int, Sendable {
        case ok = 0
        case cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists,
            permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange, unimplemented,
            internalError, unavailable, dataLoss, unauthenticated
    }

    /// What the stub answers.
    public indirect enum Reply: Sendable {
        /// OK with the request message sent back.
        case echo
        /// OK with these bytes.
        case message([UInt8])
        /// A non-OK status (trailers-only).
        case status(StatusCode, String)
        /// `reply` after a delay.
        case delayed(Duration, Reply)
    }

    /// How the server treats its connections.
    public struct Options: Sendable {
        /// A PING after every response.
        public var pingAfterEveryResponse = false
        /// GOAWAY after this many streams on a connection.
        public var goAwayEvery: Int?
        /// RST_STREAM REFUSED_STREAM for every n-th stream of a connection (its call is not run).
        public var refuseEveryNthStream: Int?
        /// This many PINGs back to back after the first response of the first connection: a flood.
        public var floodPingsAfterFirstResponse = 0

        public init() {}
    }

    /// Decides the reply for each call; called on an event loop thread.
    public typealias Behavior = @Sendable (Call) -> Reply

    struct Counters {
        var connectionsAccepted = 0
        var calls = 0
        var timesSeen: [String: Int] = [:]
        var recent: [Call] = []
        var pingsSent = 0
        var pingAcksReceived = 0
        var pingsReceived = 0
        var goAwaysSent = 0
        var streamsRefused = 0
        var goAwaysReceived: [HTTP2ErrorCode] = []
        var flooded = false
    }

    let methods: Set<String>
    let behavior: Behavior
    let tls: UpstreamStub.TLS?
    let options: Options
    let counters = Mutex(Counters())
    let listener = Mutex<(any Channel)?>(nil)
    let connections = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// - Parameters:
    ///   - methods: the `package.Service/Method` paths to serve (others get UNIMPLEMENTED).
    ///   - tls: serve gRPC over TLS (ALPN `h2`) with this certificate; plaintext by default.
    public init(
        methods: [String], tls: UpstreamStub.TLS? = nil, options: Options = Options(),
        behavior: @escaping Behavior = { _ in .echo }
    ) {
        self.methods = Set(methods)
        self.tls = tls
        self.options = options
        self.behavior = behavior
    }

    /// Starts listening on 127.0.0.1 at `port` (0: any free port) and returns the port.
    @discardableResult
    public func start(port: Int = 0) async throws -> Int {
        let tlsContext = try tls?.makeContext(applicationProtocols: ["h2"])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                counters.withLock { $0.connectionsAccepted += 1 }
                let id = ObjectIdentifier(channel)
                connections.withLock { $0[id] = channel }
                channel.closeFuture.whenComplete { [self] _ in _ = connections.withLock { $0.removeValue(forKey: id) } }
                let connection = NIOLoopBound(StubConnection(), eventLoop: channel.eventLoop)
                do {
                    if let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext))
                    }
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                return channel.configureHTTP2Pipeline(
                    mode: .server, connectionConfiguration: Self.http2Configuration, streamConfiguration: .init()
                ) { [self] stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(
                            StubStreamHandler(stub: self, connection: connection.value))
                    }
                }.flatMapThrowing { _ in
                    try channel.pipeline.syncOperations.addHandler(StubPingCounter(stub: self))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        listener.withLock { $0 = channel }
        guard let bound = channel.localAddress?.port else { throw ChannelError.unknownLocalAddress }
        return bound
    }

    /// NIO's flood guard counts PING ACKs too: at its default (200 per 30 s) a stub pinging after
    /// every response would hang up on the client's ACKs, as no real server does.
    static let http2Configuration: NIOHTTP2Handler.ConnectionConfiguration = {
        var configuration = NIOHTTP2Handler.ConnectionConfiguration()
        configuration.controlFrameRateLimit.maximumCount = 5000
        configuration.controlFrameRateLimit.windowLength = .milliseconds(100)
        return configuration
    }()

    /// Stops serving as a killed server would: the listener and every connection are closed at
    /// once, in-flight calls fail on the client's side.
    public func stop() async {
        try? await listener.withLock { $0 }?.close()
        for channel in connections.withLock({ Array($0.values) }) { try? await channel.close() }
    }

    /// TCP connections accepted since the stub was created.
    public var connectionsAccepted: Int { counters.withLock { $0.connectionsAccepted } }
    /// Calls received and run (refused streams are not).
    public var calls: Int { counters.withLock { $0.calls } }
    /// The largest number of times one idempotency key arrived.
    public var maxTimesSeen: Int { counters.withLock { $0.timesSeen.values.max() ?? 0 } }
    /// The distinct idempotency keys received.
    public var distinctKeys: Int { counters.withLock { $0.timesSeen.count } }
    /// The last calls received (at most 100).
    public var recentCalls: [Call] { counters.withLock { $0.recent } }
    /// PINGs the stub sent after responses.
    public var pingsSent: Int { counters.withLock { $0.pingsSent } }
    /// PING ACKs the stub received.
    public var pingAcksReceived: Int { counters.withLock { $0.pingAcksReceived } }
    /// PINGs (not ACKs) clients sent.
    public var pingsReceived: Int { counters.withLock { $0.pingsReceived } }
    /// GOAWAY frames sent.
    public var goAwaysSent: Int { counters.withLock { $0.goAwaysSent } }
    /// Streams refused without running their call (opened after a GOAWAY, or
    /// `refuseEveryNthStream`).
    public var streamsRefused: Int { counters.withLock { $0.streamsRefused } }
    /// The error codes of the GOAWAY frames clients sent.
    public var goAwaysReceived: [HTTP2ErrorCode] { counters.withLock { $0.goAwaysReceived } }

    fileprivate func record(method: String, message: [UInt8], headers: HPACKHeaders) -> Call {
        let idempotencyKey = headers.first(name: "idempotency-key")
        let timeout = headers.first(name: "grpc-timeout")
        let list = headers.map { (name: $0.name, value: $0.value) }
        return counters.withLock { counters in
            counters.calls += 1
            var timesSeen = 1
            if let idempotencyKey {
                timesSeen = (counters.timesSeen[idempotencyKey] ?? 0) + 1
                counters.timesSeen[idempotencyKey] = timesSeen
            }
            let call = Call(
                method: method, message: message, idempotencyKey: idempotencyKey, timeout: timeout, headers: list,
                timesSeen: timesSeen)
            if counters.recent.count == 100 { counters.recent.removeFirst() }
            counters.recent.append(call)
            return call
        }
    }
}

/// One connection's state, shared by its streams' handlers (all on the connection's loop).
private final class StubConnection {
    var streams = 0
    var goAwaySent = false
}

/// Counts the PINGs, PING ACKs and GOAWAYs a connection receives (NIO's handler passes every
/// connection-level frame on).
private final class StubPingCounter: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame

    let stub: GRPCUpstreamStub

    init(stub: GRPCUpstreamStub) {
        self.stub = stub
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data).payload {
        case .ping(_, ack: true): stub.counters.withLock { $0.pingAcksReceived += 1 }
        case .ping(_, ack: false): stub.counters.withLock { $0.pingsReceived += 1 }
        case .goAway(_, let code, _): stub.counters.withLock { $0.goAwaysReceived.append(code) }
        default: break
        }
    }
}

/// One HTTP/2 stream: one unary call.
private final class StubStreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    let stub: GRPCUpstreamStub
    let connection: StubConnection
    private var headers = HPACKHeaders()
    private var body = ByteBuffer()

    init(stub: GRPCUpstreamStub, connection: StubConnection) {
        self.stub = stub
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let frame):
            headers = frame.headers
            if frame.endStream { received(context: context) }
        case .data(let frame):
            if case .byteBuffer(var bytes) = frame.data { body.writeBuffer(&bytes) }
            if frame.endStream { received(context: context) }
        default:
            break
        }
    }

    private func received(context: ChannelHandlerContext) {
        connection.streams += 1
        let stream = connection.streams
        if connection.goAwaySent || stub.options.refuseEveryNthStream.map({ stream % $0 == 0 }) == true {
            stub.counters.withLock { $0.streamsRefused += 1 }
            context.writeAndFlush(wrapOutboundOut(.rstStream(.refusedStream)), promise: nil)
            return
        }
        let path = headers.first(name: ":path") ?? ""
        let method = String(path.dropFirst())
        guard path.hasPrefix("/"), stub.methods.contains(method) else {
            respond(.status(.unimplemented, "unknown method \(path)"), message: [], context: context)
            return
        }
        var message: [UInt8] = []
        if body.readableBytes >= 5, let length = body.getInteger(at: body.readerIndex + 1, as: UInt32.self),
            let bytes = body.getBytes(at: body.readerIndex + 5, length: Int(length))
        {
            message = bytes
        }
        let call = stub.record(method: method, message: message, headers: headers)
        respond(stub.behavior(call), message: message, context: context)
    }

    private func respond(_ reply: GRPCUpstreamStub.Reply, message: [UInt8], context: ChannelHandlerContext) {
        switch reply {
        case .echo:
            respondOK(message, context: context)
        case .message(let bytes):
            respondOK(bytes, context: context)
        case .status(let code, let text):
            let headers: HPACKHeaders = [
                ":status": "200", "content-type": "application/grpc", "grpc-status": String(code.rawValue),
                "grpc-message": Self.percentEncoded(text),
            ]
            context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: headers, endStream: true))), promise: nil)
            afterResponse(context: context)
        case .delayed(let delay, let next):
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            let (seconds, attoseconds) = delay.components
            context.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {
                let (handler, context) = bound.value
                guard context.channel.isActive else { return }
                handler.respond(next, message: message, context: context)
            }
        }
    }

    private func respondOK(_ message: [UInt8], context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 5 + message.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        let headers: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
        context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(buffer)))), promise: nil)
        context.writeAndFlush(
            wrapOutboundOut(.headers(.init(headers: ["grpc-status": "0"], endStream: true))), promise: nil)
        afterResponse(context: context)
    }

    /// What a busy real server does once a response is out: a BDP PING, or GOAWAY once the
    /// connection served its streams.
    private func afterResponse(context: ChannelHandlerContext) {
        guard let parent = context.channel.parent else { return }
        if stub.options.pingAfterEveryResponse {
            stub.counters.withLock { $0.pingsSent += 1 }
            parent.writeAndFlush(
                HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: 7), ack: false)),
                promise: nil)
        }
        let flood =
            stub.options.floodPingsAfterFirstResponse > 0
            && stub.counters.withLock { counters in
                defer { counters.flooded = true }
                return !counters.flooded
            }
        if flood {
            for index in 0..<stub.options.floodPingsAfterFirstResponse {
                parent.write(
                    HTTP2Frame(
                        streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: UInt64(index)), ack: false)),
                    promise: nil)
            }
            parent.flush()
        }
        if let every = stub.options.goAwayEvery, connection.streams >= every, !connection.goAwaySent,
            let streamID = try? context.channel.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID)
        {
            connection.goAwaySent = true
            stub.counters.withLock { $0.goAwaysSent += 1 }
            parent.writeAndFlush(
                HTTP2Frame(
                    streamID: .rootStream,
                    payload: .goAway(lastStreamID: streamID, errorCode: .noError, opaqueData: nil)),
                promise: nil)
        }
    }

    /// `grpc-message` is percent-encoded: everything outside printable ASCII, and `%`.
    static func percentEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "%") {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                encoded += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]], as: UTF8.self)
            }
        }
        return encoded
    }
}
