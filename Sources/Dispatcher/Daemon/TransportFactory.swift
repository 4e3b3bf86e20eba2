import Logging
import WorkerPool

/// Builds a queue's worker pool with the transport its upstream URL's scheme names. This is the
/// one place in the daemon that names concrete transports; everything else sees `QueuePool`.
///
/// | scheme         | transport                        |
/// |----------------|----------------------------------|
/// | http, https    | `HTTPJSONRPCTransport`           |
/// | grpc, grpcs    | not supported yet (refused)      |
enum TransportFactory {
    /// Makes a pool once the daemon's shared parts (completer, the upstream's breaker) exist.
    typealias PoolMaker =
        @Sendable (
            _ configuration: WorkerPoolConfiguration, _ logger: Logger, _ breaker: UpstreamBreaker,
            _ onOutcome: @escaping @Sendable (JobOutcome) async -> Void
        ) -> any QueuePool

    /// Checks the queue's transport settings (reading its TLS files) and returns how to make
    /// its pool. Called before the database is opened, so a daemon that refuses to start leaves
    /// no trace.
    ///
    /// - Throws: `DispatcherError` when the scheme has no transport yet, or the transport's
    ///   settings are unusable (an unreadable or malformed PEM file, TLS files for a plain
    ///   upstream).
    static func prepare(_ queue: QueueConfiguration) throws -> PoolMaker {
        switch queue.upstream.scheme {
        case .http, .https:
            if !queue.upstream.scheme.usesTLS, queue.tls != UpstreamTLSConfiguration() {
                throw DispatcherError(
                    "queue '\(queue.name)': TLS files need an https:// upstream (got \(queue.upstream))")
            }
            var transportConfiguration = HTTPJSONRPCTransport.Configuration(url: queue.upstream)
            transportConfiguration.maximumResponseBytes = queue.maximumResponseBytes
            transportConfiguration.tls = queue.tls
            let transport: HTTPJSONRPCTransport
            do {
                transport = try HTTPJSONRPCTransport(configuration: transportConfiguration)
            } catch {
                throw DispatcherError("queue '\(queue.name)': \(error)")
            }
            return { configuration, logger, breaker, onOutcome in
                WorkerPool(
                    configuration: configuration, transport: transport, logger: logger, breaker: breaker,
                    onOutcome: onOutcome)
            }
        case .grpc, .grpcs:
            throw DispatcherError(
                "\(queue.upstream.scheme.rawValue) upstreams are not supported yet: \(queue.upstream)")
        }
    }
}
