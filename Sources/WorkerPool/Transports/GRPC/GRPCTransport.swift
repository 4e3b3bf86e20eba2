import NIOCore
import NIOHTTP2
import NIOPosix

/// Unary gRPC over HTTP/2, on swift-nio-http2: one HTTP/2 connection per worker, carrying one
/// call at a time (`GRPCClientHandler`).
///
/// The worker keeps control of everything a general gRPC client would do by itself: a host's
/// addresses are tried in order until one connects (pick-first, see `GRPCAddressResolver`),
/// there is no idle timeout, no retry and no reconnect inside the transport — a closed or
/// retired (GOAWAY) connection is the worker's to replace, with the pool's backoff and the
/// breaker, and `connections_opened` counts TCP connections as it does for HTTP.
public struct GRPCTransport: UpstreamTransport {
    /// How to reach the upstream and how to convert messages.
    public struct Configuration: Sendable {
        /// The upstream endpoint (`grpc://` or `grpcs://`).
        public var url: UpstreamURL
        /// How job params and results map to messages (raw bytes or through a protoset).
        public var codec: GRPCMessageCodec = .raw
        /// TLS settings for `grpcs://` (the same as for `https://`; ignored for `grpc://`).
        public var tls = UpstreamTLSConfiguration()
        /// How long opening the connection (TCP, TLS, the server's HTTP/2 SETTINGS) may take.
        public var connectTimeout: Duration = .seconds(5)
        /// Responses with a larger message fail the call.
        public var maximumResponseBytes: Int = 1 << 20
        /// Metadata sent with every call (names sent lower-cased).
        public var metadata: [UpstreamHeader] = []
        /// When set, a PING every this long on each connection; one not answered within
        /// `keepaliveTimeout` closes the connection (the call in flight is retried). Off by
        /// default: servers limit how often clients may ping (grpc-go: 5 minutes by default).
        public var keepalive: Duration?
        /// How long a keepalive PING may wait for its ACK.
        public var keepaliveTimeout: Duration = .seconds(20)

        public init(url: UpstreamURL) {
            self.url = url
        }
    }

    public let configuration: Configuration
    let eventLoopGroup: any EventLoopGroup
    /// The upstream host's addresses, tried in order (tests substitute their own lists).
    var resolver = GRPCAddressResolver()
    /// Built once from `configuration.tls` (ALPN `h2`).
    let tls: UpstreamClientTLS

    /// The receive window kept open on each connection and each call's stream.
    static let windowSize = 1 << 20

    /// - Parameter eventLoopGroup: where connections run; defaults to NIO's shared group.
    /// - Throws: `UpstreamTLSError` when a `grpcs` upstream's PEM files are unreadable or
    ///   malformed.
    public init(
        configuration: Configuration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(UpstreamTLSError) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.tls = try UpstreamClientTLS(
            url: configuration.url, configuration: configuration.tls, applicationProtocols: ["h2"])
    }

    public var name: String { configuration.url.description }

    public func withConnection<Result: Sendable>(
        _ body: (inout GRPCConnection) async throws -> Result
    ) async throws -> Result {
        let eventLoop = eventLoopGroup.next()
        let addresses = try await resolver.resolve(configuration.url.host, configuration.url.port)
        // As for HTTP: the connection and the worker's code share one event loop thread.
        return try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop: eventLoop)) {
            // Pick-first: the addresses in order until one connects. Only a failed connect moves
            // on to the next address; a failure in `body` ends the attempt as it is.
            var lastFailure: (any Error)?
            for address in addresses {
                let opened: GRPCConnection
                do {
                    opened = try await connect(to: address, on: eventLoop)
                } catch {
                    if error is CancellationError || Task.isCancelled { throw error }
                    lastFailure = error
                    continue
                }
                return try await use(opened, body)
            }
            throw lastFailure ?? GRPCConnectError(message: "no address to connect to for \(name)")
        }
    }

    /// Opens a connection to `address`: TCP, TLS for `grpcs`, and the server's SETTINGS.
    private func connect(to address: SocketAddress, on eventLoop: any EventLoop) async throws -> GRPCConnection {
        let url = configuration.url
        let tls = self.tls
        let connectTimeout = configuration.connectTimeout
        let settings = GRPCClientHandler.Settings(
            scheme: url.scheme.usesTLS ? "https" : "http", authority: url.authority,
            metadata: configuration.metadata, maximumResponseBytes: configuration.maximumResponseBytes,
            windowSize: Self.windowSize, connectTimeout: connectTimeout, keepalive: configuration.keepalive,
            keepaliveTimeout: configuration.keepaliveTimeout)
        let flags = GRPCConnectionFlags()
        let (channel, handler, handshake, ready) = try await ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handshake = try tls.addHandlers(to: channel, url: url, timeout: TimeAmount(connectTimeout))
                    try channel.pipeline.syncOperations.addHandler(
                        NIOHTTP2Handler(
                            mode: .client, connectionConfiguration: Self.http2Configuration,
                            streamConfiguration: .init()))
                    let handler = GRPCClientHandler(
                        settings: settings, flags: flags, ready: channel.eventLoop.makePromise())
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return (
                        channel, NIOLoopBound(handler, eventLoop: channel.eventLoop), handshake, handler.readyFuture
                    )
                }
            }
        do {
            try await UpstreamClientTLS.finish(handshake, host: url.host)
            try await ready.get()
        } catch {
            try? await channel.close()
            throw error
        }
        return GRPCConnection(
            channel: channel, handler: handler, flags: flags, codec: configuration.codec, host: url.host,
            usesTLS: tls.isEnabled)
    }

    /// Runs `body` with the open connection and closes it afterwards.
    private func use<Result: Sendable>(
        _ opened: GRPCConnection, _ body: (inout GRPCConnection) async throws -> Result
    ) async throws -> Result {
        var connection = opened
        let channel = connection.channel
        let handler = connection.handler
        return try await ConnectionLifetime.run(&connection, on: channel, cancel: { handler.value.cancel() }, body)
    }

    /// swift-nio-http2's settings for a client connection: this client's SETTINGS, and its
    /// flood guard for PING and SETTINGS frames widened to a rate no server's ordinary pings
    /// reach (its default, 200 per 30 s, closed a busy worker's connection to grpc-go every
    /// couple of hundred calls); `HTTP2ControlFrameGuard` is the guard that matters.
    static let http2Configuration: NIOHTTP2Handler.ConnectionConfiguration = {
        var configuration = NIOHTTP2Handler.ConnectionConfiguration()
        configuration.initialSettings = GRPCClientHandler.initialSettings(windowSize: windowSize)
        // A sliding window of timestamps: the count is also the size of the buffer NIO keeps.
        configuration.controlFrameRateLimit.maximumCount = 5000
        configuration.controlFrameRateLimit.windowLength = .milliseconds(100)
        return configuration
    }()
}

/// The gRPC connection could not be opened.
struct GRPCConnectError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
