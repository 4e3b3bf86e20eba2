import NIOCore
import NIOPosix

/// JSON-RPC 2.0 over HTTP/1.1 keep-alive connections, on SwiftNIO; over TLS (swift-nio-ssl)
/// for `https` upstreams.
///
/// Each connection carries one call at a time (no pipelining), so a worker's connection is
/// reused for every call it makes until the upstream closes it or a call times out. Over TLS the
/// handshake is part of connecting: a connection is handed to the worker only once the peer's
/// certificate is verified, so a TLS failure is a connect failure and no job is written to it.
public struct HTTPJSONRPCTransport: UpstreamTransport {
    /// How to reach the upstream and what to accept from it.
    public struct Configuration: Sendable {
        /// The upstream endpoint.
        public var url: UpstreamURL
        /// How long a TCP connect may take.
        public var connectTimeout: Duration = .seconds(5)
        /// Responses with a larger body fail the call (and close the connection).
        public var maximumResponseBytes: Int = 1 << 20
        /// Which JSON-RPC errors are retryable.
        public var classifier = JSONRPCResponseClassifier()
        /// Trust roots and client identity for `https` upstreams.
        public var tls = UpstreamTLSConfiguration()
        /// Headers sent with every request (built into the connection's request template).
        public var headers: [UpstreamHeader] = []

        public init(url: UpstreamURL) {
            self.url = url
        }
    }

    public let configuration: Configuration
    let eventLoopGroup: any EventLoopGroup
    /// Built once from `configuration.tls` (ALPN `http/1.1`).
    let tls: UpstreamClientTLS

    /// - Parameter eventLoopGroup: where connections run; defaults to NIO's shared group.
    /// - Throws: `UpstreamTLSError` when an `https` upstream's PEM files are unreadable or
    ///   malformed.
    public init(
        configuration: Configuration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(UpstreamTLSError) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.tls = try UpstreamClientTLS(
            url: configuration.url, configuration: configuration.tls, applicationProtocols: ["http/1.1"])
    }

    public var name: String { configuration.url.description }

    public func withConnection<Result: Sendable>(
        _ body: (inout HTTPJSONRPCConnection) async throws -> Result
    ) async throws -> Result {
        let url = configuration.url
        let maximumResponseBytes = configuration.maximumResponseBytes
        let headers = configuration.headers
        let eventLoop = eventLoopGroup.next()
        // The connection and the worker's code share one event loop thread (see
        // EventLoopTaskExecutor): the whole life of the connection runs with that preference.
        return try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop: eventLoop)) {
            try await connect(
                on: eventLoop, url: url, headers: headers, maximumResponseBytes: maximumResponseBytes, body)
        }
    }

    private func connect<Result: Sendable>(
        on eventLoop: any EventLoop, url: UpstreamURL, headers: [UpstreamHeader], maximumResponseBytes: Int,
        _ body: (inout HTTPJSONRPCConnection) async throws -> Result
    ) async throws -> Result {
        let tls = self.tls
        let connectTimeout = TimeAmount(configuration.connectTimeout)
        let (channel, handler, handshake) = try await ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: url.host, port: url.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handshake = try tls.addHandlers(to: channel, url: url, timeout: connectTimeout)
                    // The handler frames requests and parses responses itself: bytes in, bytes out.
                    let handler = JSONRPCClientHandler(
                        url: url, headers: headers, maximumResponseBytes: maximumResponseBytes)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return (channel, NIOLoopBound(handler, eventLoop: channel.eventLoop), handshake)
                }
            }
        do {
            try await UpstreamClientTLS.finish(handshake, host: url.host)
        } catch {
            try? await channel.close()
            throw error
        }
        var connection = HTTPJSONRPCConnection(
            channel: channel, handler: handler, classifier: configuration.classifier, host: url.host,
            usesTLS: tls.isEnabled)
        // A cancelled worker's call in flight fails with `CancellationError`.
        return try await ConnectionLifetime.run(&connection, on: channel, cancel: { handler.value.cancel() }, body)
    }
}

/// One keep-alive HTTP/1.1 connection to a JSON-RPC upstream.
public struct HTTPJSONRPCConnection: UpstreamConnection {
    let channel: any Channel
    /// The pipeline's last handler, which makes the calls; touched only on the channel's loop.
    let handler: NIOLoopBound<JSONRPCClientHandler>
    let classifier: JSONRPCResponseClassifier
    let host: String
    let usesTLS: Bool
    public private(set) var isReusable = true
    public private(set) var rejection: String?
    /// Calls answered on this connection.
    var answered = 0

    nonisolated(nonsending) public mutating func call(_ job: RPCJob) async -> CallOutcome {
        guard isReusable else { return .failed(.retryable("connection is closed")) }
        do {
            let response = try await exchange(job)
            if !response.keepAlive { isReusable = false }
            answered += 1
            return classifier.classify(response, expectedID: job.id)
        } catch {
            isReusable = false
            // A TLS 1.3 server checks the client certificate after the client's side of the
            // handshake is done, so a refusal arrives as an alert on the first call: the request
            // never reached the application, and the connect, not the call, has failed.
            if usesTLS, answered == 0, TLSFailure.isTLSRejection(error) {
                let cause = TLSFailure.describe(error, host: host)
                rejection = cause
                return .notAttempted(.init(reason: cause))
            }
            return .failed(Self.classify(error))
        }
    }

    /// Writes the request and waits for its response. The worker runs on the channel's event
    /// loop (see `EventLoopTaskExecutor`), so the handler is called directly; the hop through
    /// `execute` is only a fallback for a caller on another thread. Cancellation is watched for
    /// the whole connection (see `HTTPJSONRPCTransport.connect`).
    nonisolated(nonsending) private func exchange(_ job: RPCJob) async throws -> UpstreamHTTPResponse {
        let handler = self.handler
        let eventLoop = channel.eventLoop
        return try await withUnsafeThrowingContinuation { continuation in
            if eventLoop.inEventLoop {
                handler.value.send(job, continuation: continuation)
            } else {
                eventLoop.execute { handler.value.send(job, continuation: continuation) }
            }
        }
    }

    static func classify(_ error: any Error) -> CallFailure {
        switch error {
        case JSONRPCClientError.deadlineExceeded(let timeout):
            return .retryable("call timed out after \(timeout)")
        case JSONRPCClientError.closedBeforeResponse:
            return .retryable("upstream closed the connection before responding")
        case JSONRPCClientError.responseTooLarge(let limit):
            return CallFailure(
                isRetryable: false, message: "response larger than \(limit) bytes", countsForBreaker: false)
        case let error as HTTPResponseParserError:
            return .retryable("malformed HTTP response: \(error)")
        case let error as IOError:
            return .retryable("connection error: \(error)")
        case is CancellationError:
            return .retryable("call cancelled")
        default:
            return .retryable("connection error: \(error)")
        }
    }
}
