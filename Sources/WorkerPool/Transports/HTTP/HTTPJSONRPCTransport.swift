import NIOCore
import NIOHTTP1
import NIOPosix

/// JSON-RPC 2.0 over HTTP/1.1 keep-alive connections, on SwiftNIO.
///
/// Each connection carries one call at a time (no pipelining), so a worker's connection is
/// reused for every call it makes until the upstream closes it or a call times out.
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

        public init(url: UpstreamURL) {
            self.url = url
        }
    }

    public let configuration: Configuration
    let eventLoopGroup: any EventLoopGroup

    /// - Parameter eventLoopGroup: where connections run; defaults to NIO's shared group.
    public init(
        configuration: Configuration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
    }

    public var name: String { configuration.url.description }

    public func withConnection<Result: Sendable>(
        _ body: (inout HTTPJSONRPCConnection) async throws -> Result
    ) async throws -> Result {
        let url = configuration.url
        let maximumResponseBytes = configuration.maximumResponseBytes
        let eventLoop = eventLoopGroup.next()
        // The connection and the worker's code share one event loop thread (see
        // EventLoopTaskExecutor): the whole life of the connection runs with that preference.
        return try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop: eventLoop)) {
            try await connect(on: eventLoop, url: url, maximumResponseBytes: maximumResponseBytes, body)
        }
    }

    private func connect<Result: Sendable>(
        on eventLoop: any EventLoop, url: UpstreamURL, maximumResponseBytes: Int,
        _ body: (inout HTTPJSONRPCConnection) async throws -> Result
    ) async throws -> Result {
        let asyncChannel = try await ClientBootstrap(group: eventLoop)
            .connectTimeout(.nanoseconds(configuration.connectTimeout.nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: url.host, port: url.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Header values are checked where they enter (idempotency keys at enqueue and
                    // again in `call`), so NIO's per-write header validation is skipped.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(
                        JSONRPCClientHandler(url: url, maximumResponseBytes: maximumResponseBytes))
                    return try NIOAsyncChannel<UpstreamHTTPResponse, JSONRPCRequest>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return try await asyncChannel.executeThenClose { inbound, outbound in
            var connection = HTTPJSONRPCConnection(
                responses: inbound.makeAsyncIterator(), requests: outbound, classifier: configuration.classifier)
            return try await body(&connection)
        }
    }
}

/// One keep-alive HTTP/1.1 connection to a JSON-RPC upstream.
public struct HTTPJSONRPCConnection: UpstreamConnection {
    var responses: NIOAsyncChannelInboundStream<UpstreamHTTPResponse>.AsyncIterator
    let requests: NIOAsyncChannelOutboundWriter<JSONRPCRequest>
    let classifier: JSONRPCResponseClassifier
    public private(set) var isReusable = true

    public mutating func call(_ job: RPCJob) async -> CallOutcome {
        guard isReusable else { return .failed(.retryable("connection is closed")) }
        guard !job.idempotencyKey.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            return .failed(.permanent("idempotency key contains control characters"))
        }
        do {
            try await requests.write(JSONRPCRequest(job: job))
            guard let response = try await responses.next() else {
                isReusable = false
                return .failed(.retryable("upstream closed the connection before responding"))
            }
            if !response.keepAlive { isReusable = false }
            return classifier.classify(response, expectedID: job.id)
        } catch {
            isReusable = false
            return .failed(Self.classify(error))
        }
    }

    static func classify(_ error: any Error) -> CallFailure {
        switch error {
        case JSONRPCClientError.deadlineExceeded(let timeout):
            return .retryable("call timed out after \(timeout)")
        case JSONRPCClientError.responseTooLarge(let limit):
            return CallFailure(
                isRetryable: false, message: "response larger than \(limit) bytes", countsForBreaker: false)
        case let error as HTTPParserError:
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
