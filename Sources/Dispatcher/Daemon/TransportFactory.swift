import Logging
import NIOCore
import WorkerPool

/// Builds a queue's worker pool with the transport its upstream URL's scheme names. This is the
/// one place in the daemon that names concrete transports; everything else sees `QueuePool`.
///
/// | scheme         | transport                                                          |
/// |----------------|--------------------------------------------------------------------|
/// | http, https    | `HTTPJSONRPCTransport`                                             |
/// | grpc, grpcs    | `GRPCTransport` (JSON through `--protoset`, raw bytes without one) |
enum TransportFactory {
    /// Makes a pool once the daemon's shared parts (completer, the upstream's breaker) exist.
    typealias PoolMaker =
        @Sendable (
            _ configuration: WorkerPoolConfiguration, _ logger: Logger, _ breaker: UpstreamBreaker,
            _ onOutcome: nonisolated(nonsending) @escaping @Sendable (JobOutcome) async -> Void
        ) -> any QueuePool

    /// Checks the queue's transport settings (reading its TLS files and protoset) and returns
    /// how to make its pool. Called before the database is opened, so a daemon that refuses to
    /// start leaves no trace.
    ///
    /// - Parameter eventLoops: where the queue's upstream connections run.
    /// - Throws: `DispatcherError` when the transport's settings are unusable (an unreadable or
    ///   malformed PEM file or protoset, TLS files for a plain upstream, a protoset for HTTP).
    static func prepare(_ queue: QueueConfiguration, eventLoops: any EventLoopGroup) throws -> PoolMaker {
        if !queue.upstream.scheme.usesTLS, queue.tls != UpstreamTLSConfiguration() {
            throw DispatcherError(
                "queue '\(queue.name)': TLS files need an https:// or grpcs:// upstream (got \(queue.upstream))")
        }
        switch queue.upstream.scheme {
        case .http, .https:
            guard queue.protoset == nil else {
                throw DispatcherError(
                    "queue '\(queue.name)': a protoset is for grpc:// and grpcs:// upstreams, not \(queue.upstream)")
            }
            guard queue.grpcKeepalive == nil else {
                throw DispatcherError(
                    "queue '\(queue.name)': grpc_keepalive is for grpc:// and grpcs:// upstreams, not \(queue.upstream)"
                )
            }
            var transportConfiguration = HTTPJSONRPCTransport.Configuration(url: queue.upstream)
            transportConfiguration.maximumResponseBytes = queue.maximumResponseBytes
            transportConfiguration.tls = queue.tls
            transportConfiguration.headers = queue.headers
            transportConfiguration.classifier = JSONRPCResponseClassifier(retryableCodes: queue.retryCodes)
            return try poolMaker(for: queue) {
                try HTTPJSONRPCTransport(configuration: transportConfiguration, eventLoopGroup: eventLoops)
            }
        case .grpc, .grpcs:
            var transportConfiguration = GRPCTransport.Configuration(url: queue.upstream)
            transportConfiguration.maximumResponseBytes = queue.maximumResponseBytes
            transportConfiguration.tls = queue.tls
            transportConfiguration.metadata = queue.headers
            transportConfiguration.keepalive = queue.grpcKeepalive
            if let path = queue.protoset {
                transportConfiguration.codec = .protoset(ProtoJSONCodec(protoset: try loadProtoset(path)))
            }
            return try poolMaker(for: queue) {
                try GRPCTransport(configuration: transportConfiguration, eventLoopGroup: eventLoops)
            }
        }
    }

    /// Makes the transport now (its TLS files are read here, so a bad one names its queue at
    /// start) and returns how to wrap it in a pool later.
    private static func poolMaker<Transport: UpstreamTransport>(
        for queue: QueueConfiguration, _ makeTransport: () throws -> Transport
    ) throws -> PoolMaker {
        let transport: Transport
        do {
            transport = try makeTransport()
        } catch {
            throw DispatcherError("queue '\(queue.name)': \(error)")
        }
        return { configuration, logger, breaker, onOutcome in
            WorkerPool(
                configuration: configuration, transport: transport, logger: logger, breaker: breaker,
                onOutcome: onOutcome)
        }
    }

    /// Reads and decodes a protoset, or explains in one line why it cannot be used.
    static func loadProtoset(_ path: String) throws -> Protoset {
        let bytes = try InputFile.contents(of: path)
        do {
            return try Protoset(serialized: bytes)
        } catch {
            throw DispatcherError("protoset \(path): \(error)")
        }
    }
}
