import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore
import NIOPosix
import NIOSSL

/// gRPC over HTTP/2 (grpc-swift-2 with its NIO transport): one `GRPCClient` per worker, whose
/// transport holds exactly one HTTP/2 connection.
///
/// The client is set up so that our call layer keeps control: a single address (pick-first: the
/// host's addresses are tried in order, one client each, until one connects; see
/// `GRPCAddressResolver`), no idle timeout (the connection lives as long as the worker), no automatic
/// retries (no retry policy in the service config), and calls that fail fast instead of
/// waiting for a broken connection. When the connection closes the worker drops the client and
/// opens a new one, so `connections_opened` counts TCP connections as it does for HTTP.
public struct GRPCTransport: UpstreamTransport {
    /// How to reach the upstream and how to convert messages.
    public struct Configuration: Sendable {
        /// The upstream endpoint (`grpc://` or `grpcs://`).
        public var url: UpstreamURL
        /// How job params and results map to messages (raw bytes or through a protoset).
        public var codec: GRPCMessageCodec = .raw
        /// TLS settings for `grpcs://` (the same as for `https://`; ignored for `grpc://`).
        public var tls = UpstreamTLSConfiguration()
        /// How long opening the connection may take before the worker backs off and retries.
        public var connectTimeout: Duration = .seconds(5)
        /// Responses with a larger message fail the call.
        public var maximumResponseBytes: Int = 1 << 20
        /// Metadata sent with every call (names sent lower-cased).
        public var metadata: [UpstreamHeader] = []

        public init(url: UpstreamURL) {
            self.url = url
        }
    }

    public let configuration: Configuration
    let eventLoopGroup: any EventLoopGroup
    /// The upstream host's addresses, tried in order (tests substitute their own lists).
    var resolver = GRPCAddressResolver()
    /// Built once from `configuration.tls` for `grpcs` upstreams (ALPN `h2`); nil for `grpc`.
    let tlsContext: NIOSSLContext?

    /// - Parameter eventLoopGroup: where connections run; defaults to NIO's shared group.
    /// - Throws: `UpstreamTLSError` when a `grpcs` upstream's PEM files are unreadable or
    ///   malformed.
    public init(
        configuration: Configuration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(UpstreamTLSError) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.tlsContext =
            configuration.url.scheme.usesTLS
            ? try configuration.tls.makeContext(noticing: nil, applicationProtocols: ["h2"]) : nil
    }

    public var name: String { configuration.url.description }

    public func withConnection<Result: Sendable>(
        _ body: (inout GRPCConnection) async throws -> Result
    ) async throws -> Result {
        let eventLoop = eventLoopGroup.next()
        let targets = try await resolver.resolve(configuration.url.host, configuration.url.port)
        // As for HTTP: the connection and the worker's code share one event loop thread.
        let executor = EventLoopTaskExecutor(eventLoop: eventLoop)
        return try await withTaskExecutorPreference(executor) {
            // Pick-first: the addresses in order, each with its own client, until one connects.
            // Only a failed connect moves on to the next address; a failure in `body` (a call
            // on an open connection) ends the attempt as it is.
            var lastFailure: (any Error)?
            for target in targets {
                do {
                    return try await connect(to: target, on: eventLoop, executor: executor, body)
                } catch let failure as AddressFailed {
                    lastFailure = failure.cause
                }
            }
            throw lastFailure ?? GRPCConnectError(message: "no address to connect to for \(name)")
        }
    }

    /// The connect to one address failed (the caller may try the next one).
    private struct AddressFailed: Error {
        var cause: any Error
    }

    private func connect<Result: Sendable>(
        to target: any ResolvableTarget, on eventLoop: any EventLoop, executor: any TaskExecutor,
        _ body: (inout GRPCConnection) async throws -> Result
    ) async throws -> Result {
        let watch = GRPCConnectionWatch()
        let client: GRPCClient<HTTP2ClientTransport.Posix>
        do {
            client = GRPCClient(transport: try makeTransport(to: target, on: eventLoop, watch: watch))
        } catch {
            throw AddressFailed(cause: error)
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.runConnections() }
            defer { client.beginGracefulShutdown() }
            do {
                try await waitForConnection(watch)
            } catch {
                client.beginGracefulShutdown()
                group.cancelAll()
                // Cancellation (shutdown) is not a reason to try another address.
                if error is CancellationError || Task.isCancelled { throw error }
                throw AddressFailed(cause: error)
            }
            var connection = GRPCConnection(
                client: client, watch: watch, codec: configuration.codec,
                maximumResponseBytes: configuration.maximumResponseBytes,
                metadata: configuration.metadata.map { ($0.name.lowercased(), $0.value) }, eventLoop: eventLoop,
                executor: executor)
            let result = try await body(&connection)
            client.beginGracefulShutdown()
            try await group.waitForAll()
            return result
        }
    }

    /// Waits for the client's first TCP connection, at most `connectTimeout`.
    private func waitForConnection(_ watch: GRPCConnectionWatch) async throws {
        let timeout = configuration.connectTimeout
        let name = name
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await watch.waitForConnection()
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            let connected = try await group.next() ?? false
            group.cancelAll()
            guard connected else { throw GRPCConnectError(message: "could not connect to \(name) within \(timeout)") }
        }
    }

    private func makeTransport(
        to target: any ResolvableTarget, on eventLoop: any EventLoop, watch: GRPCConnectionWatch
    ) throws -> HTTP2ClientTransport.Posix {
        let url = configuration.url
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.connection.maxIdleTime = nil
        // A worker's calls are sequential: there is never a second write to coalesce with, so
        // coalescing would only delay each request (measured: ~20 % fewer calls/s with it).
        config.connection.flushCoalescing = nil
        config.http2.authority = url.authority
        // The client must not reconnect by itself (see GRPCConnectionWatch): a failed or lost
        // connection is the worker's to replace, with the pool's backoff and the breaker.
        config.backoff = .init(initial: .seconds(3600), max: .seconds(3600), multiplier: 1, jitter: 0)
        // TLS is ours rather than grpc-swift's, so grpcs:// verifies exactly as https:// does
        // (system roots plus --ca-file, hostname or IP SAN, TLS 1.2+), and a failed handshake is
        // a failed connect (see GRPCConnectionWatch).
        let tls = tlsContext.map { (context: $0, serverHostname: url.hostIsIPAddress ? nil : url.host) }
        config.channelDebuggingCallbacks.onCreateTCPConnection = { channel in
            watch.connectionCreated(channel, host: url.host, tls: tls)
        }
        let security: HTTP2ClientTransport.Posix.TransportSecurity = tls == nil ? .plaintext : .customSecure
        return try HTTP2ClientTransport.Posix(
            target: target, transportSecurity: security, config: config,
            serviceConfig: ServiceConfig(loadBalancingConfig: [.pickFirst(shuffleAddressList: false)]),
            eventLoopGroup: eventLoop)
    }
}

/// The gRPC connection could not be opened in time.
struct GRPCConnectError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
