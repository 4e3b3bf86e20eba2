import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore
import Synchronization

/// A gRPC upstream on loopback for tests and benchmarks: a grpc-swift-2 server whose handlers
/// see raw message bytes, so a test decides every reply (a message, any status, a delay).
///
/// It records what it saw: TCP connections accepted, calls, each call's method, metadata
/// (`idempotency-key`, `grpc-timeout`) and how often each idempotency key arrived.
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
        /// How many calls with this idempotency key arrived, this one included.
        public var timesSeen: Int
    }

    /// What the stub answers.
    public indirect enum Reply: Sendable {
        /// OK with the request message sent back.
        case echo
        /// OK with these bytes.
        case message([UInt8])
        /// A non-OK status.
        case status(RPCError.Code, String)
        /// `reply` after a delay.
        case delayed(Duration, Reply)
    }

    /// Decides the reply for each call.
    public typealias Behavior = @Sendable (Call) -> Reply

    struct Counters {
        var connectionsAccepted = 0
        var calls = 0
        var timesSeen: [String: Int] = [:]
        var recent: [Call] = []
    }

    let methods: [String]
    let behavior: Behavior
    let tls: HTTP2ServerTransport.Posix.TransportSecurity
    let counters = Mutex(Counters())
    let server = Mutex<GRPCServer<HTTP2ServerTransport.Posix>?>(nil)
    let serving = Mutex<Task<Void, any Error>?>(nil)
    let listener = Mutex<(any Channel)?>(nil)
    let connections = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// - Parameters:
    ///   - methods: the `package.Service/Method` paths to serve (others get UNIMPLEMENTED).
    ///   - tls: TLS settings (plaintext by default).
    public init(
        methods: [String], tls: HTTP2ServerTransport.Posix.TransportSecurity = .plaintext,
        behavior: @escaping Behavior = { _ in .echo }
    ) {
        self.methods = methods
        self.tls = tls
        self.behavior = behavior
    }

    /// Starts listening on 127.0.0.1 at `port` (0: any free port) and returns the port.
    @discardableResult
    public func start(port: Int = 0) async throws -> Int {
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.connection.flushCoalescing = nil
        config.channelDebuggingCallbacks.onBindTCPListener = { [self] channel in
            listener.withLock { $0 = channel }
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        config.channelDebuggingCallbacks.onAcceptTCPConnection = { [self] channel in
            counters.withLock { $0.connectionsAccepted += 1 }
            try? channel.syncOptions?.setOption(.socketOption(.tcp_nodelay), value: 1)
            let id = ObjectIdentifier(channel)
            connections.withLock { $0[id] = channel }
            channel.closeFuture.whenComplete { [self] _ in _ = connections.withLock { $0.removeValue(forKey: id) } }
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: tls, config: config)
        var router = RPCRouter<HTTP2ServerTransport.Posix>()
        for path in methods {
            let parts = path.split(separator: "/")
            let descriptor = MethodDescriptor(fullyQualifiedService: String(parts[0]), method: String(parts[1]))
            router.registerHandler(
                forMethod: descriptor, deserializer: StubRawDeserializer(), serializer: StubRawSerializer()
            ) { [self] request, _ in
                var received: [UInt8] = []
                for try await part in request.messages { received += part }
                let call = record(
                    method: path, message: received, idempotencyKey: Self.first(request.metadata, "idempotency-key"),
                    timeout: Self.first(request.metadata, "grpc-timeout"))
                let message = try await reply(behavior(call), call)
                return StreamingServerResponse(single: ServerResponse(message: message))
            }
        }
        let server = GRPCServer(transport: transport, router: router)
        self.server.withLock { $0 = server }
        // The server runs until stop(); a test owns the stub for its whole body, and stop()
        // awaits this task, so it never outlives the test.
        serving.withLock { $0 = Task { try await server.serve() } }
        guard let address = try await transport.listeningAddress.ipv4 else {
            throw RPCError(code: .internalError, message: "the stub is not listening on IPv4")
        }
        return address.port
    }

    /// Stops serving as a killed server would: the listener and every connection are closed at
    /// once, in-flight calls fail on the client's side.
    public func stop() async {
        // Abrupt rather than graceful, and in this order: no new connections, then no new
        // streams on the open ones. (A stream arriving while grpc-swift's server winds down
        // gracefully trips a debug-build assertion in NIO's HTTP/2 multiplexer.)
        try? await listener.withLock { $0 }?.close()
        for channel in connections.withLock({ Array($0.values) }) { try? await channel.close() }
        server.withLock { $0 }?.beginGracefulShutdown()
        let task = serving.withLock { $0 }
        task?.cancel()
        _ = try? await task?.value
    }

    /// TCP connections accepted since the stub was created.
    public var connectionsAccepted: Int { counters.withLock { $0.connectionsAccepted } }
    /// Calls received.
    public var calls: Int { counters.withLock { $0.calls } }
    /// The largest number of times one idempotency key arrived.
    public var maxTimesSeen: Int { counters.withLock { $0.timesSeen.values.max() ?? 0 } }
    /// The distinct idempotency keys received.
    public var distinctKeys: Int { counters.withLock { $0.timesSeen.count } }
    /// The last calls received (at most 100).
    public var recentCalls: [Call] { counters.withLock { $0.recent } }

    private func record(method: String, message: [UInt8], idempotencyKey: String?, timeout: String?) -> Call {
        counters.withLock { counters in
            counters.calls += 1
            var timesSeen = 1
            if let idempotencyKey {
                timesSeen = (counters.timesSeen[idempotencyKey] ?? 0) + 1
                counters.timesSeen[idempotencyKey] = timesSeen
            }
            let call = Call(
                method: method, message: message, idempotencyKey: idempotencyKey, timeout: timeout,
                timesSeen: timesSeen)
            if counters.recent.count == 100 { counters.recent.removeFirst() }
            counters.recent.append(call)
            return call
        }
    }

    private func reply(_ reply: Reply, _ call: Call) async throws -> [UInt8] {
        switch reply {
        case .echo: return call.message
        case .message(let bytes): return bytes
        case .status(let code, let message): throw RPCError(code: code, message: message)
        case .delayed(let delay, let next):
            try await Task.sleep(for: delay)
            return try await self.reply(next, call)
        }
    }

    private static func first(_ metadata: Metadata, _ key: String) -> String? {
        for value in metadata[stringValues: key] { return value }
        return nil
    }
}

struct StubRawSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
}

struct StubRawDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
