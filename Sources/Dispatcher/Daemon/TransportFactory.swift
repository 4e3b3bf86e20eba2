import Logging
import WorkerPool

/// Builds a queue's worker pool with the transport its upstream URL's scheme names. This is the
/// one place in the daemon that names concrete transports; everything else sees `QueuePool`.
///
/// | scheme         | transport                        |
/// |----------------|----------------------------------|
/// | http           | `HTTPJSONRPCTransport`           |
/// | https          | not supported yet (refused)      |
/// | grpc, grpcs    | not supported yet (refused)      |
enum TransportFactory {
    /// Makes a pool once the daemon's shared parts (completer, breakers) exist.
    typealias PoolMaker =
        @Sendable (
            _ configuration: WorkerPoolConfiguration, _ logger: Logger,
            _ onOutcome: @escaping @Sendable (JobOutcome) async -> Void
        ) -> any QueuePool

    /// Checks the queue's transport settings and returns how to make its pool. Called before the
    /// database is opened, so a daemon that cannot reach its upstreams leaves no trace.
    ///
    /// - Throws: `DispatcherError` when the scheme has no transport yet, or the transport's
    ///   settings are unusable; the daemon then refuses to start.
    static func prepare(_ queue: QueueConfiguration) throws -> PoolMaker {
        switch queue.upstream.scheme {
        case .http:
            var transportConfiguration = HTTPJSONRPCTransport.Configuration(url: queue.upstream)
            transportConfiguration.maximumResponseBytes = queue.maximumResponseBytes
            let transport = HTTPJSONRPCTransport(configuration: transportConfiguration)
            return { configuration, logger, onOutcome in
                WorkerPool(configuration: configuration, transport: transport, logger: logger, onOutcome: onOutcome)
            }
        case .https, .grpc, .grpcs:
            throw DispatcherError(
                "\(queue.upstream.scheme.rawValue) upstreams are not supported yet: \(queue.upstream)")
        }
    }
}
