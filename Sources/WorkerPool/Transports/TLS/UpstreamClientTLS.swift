import NIOCore
import NIOSSL

/// The TLS side of a transport's connections, the same for HTTP/1.1 and gRPC: the context built
/// once for a TLS upstream, what the server asked of this client, and the part of each new
/// connection's pipeline and start-up that TLS adds.
struct UpstreamClientTLS: Sendable {
    /// Built once from the configuration for `https` and `grpcs` upstreams; nil for `http` and
    /// `grpc`.
    let context: NIOSSLContext?
    /// Whether the upstream asked for a client certificate this client does not have.
    let certificateRequests: ClientCertificateRequests

    /// - Throws: `UpstreamTLSError` when a TLS upstream's PEM files are unreadable or malformed.
    init(
        url: UpstreamURL, configuration: UpstreamTLSConfiguration, applicationProtocols: [String]
    ) throws(UpstreamTLSError) {
        let certificateRequests = ClientCertificateRequests()
        self.certificateRequests = certificateRequests
        self.context =
            url.scheme.usesTLS
            ? try configuration.makeContext(noticing: certificateRequests, applicationProtocols: applicationProtocols)
            : nil
    }

    var isEnabled: Bool { context != nil }

    /// Adds the TLS client handler and the handshake waiter to `channel`'s pipeline (on its
    /// event loop, from the bootstrap's initializer) and returns the handshake's future; nil,
    /// adding nothing, for a plain upstream.
    ///
    /// SNI carries names only; an IP literal is verified against the certificate's IP SANs
    /// (NIOSSL checks the peer address when no server name is given).
    func addHandlers(to channel: any Channel, url: UpstreamURL, timeout: TimeAmount) throws -> EventLoopFuture<Void>? {
        guard let context else { return nil }
        try channel.pipeline.syncOperations.addHandler(
            NIOSSLClientHandler(context: context, serverHostname: url.hostIsIPAddress ? nil : url.host))
        let promise = channel.eventLoop.makePromise(of: Void.self)
        try channel.pipeline.syncOperations.addHandler(
            TLSHandshakeWaiter(handshake: promise, certificateRequests: certificateRequests, timeout: timeout))
        return promise.futureResult
    }

    /// Waits for the handshake `addHandlers` returned (nil: nothing to wait for); a failure
    /// becomes a `TLSConnectError` that says what went wrong with `host`. The caller closes the
    /// channel.
    static func finish(_ handshake: EventLoopFuture<Void>?, host: String) async throws {
        guard let handshake else { return }
        do {
            try await handshake.get()
        } catch {
            throw TLSConnectError(cause: TLSFailure.describe(error, host: host))
        }
    }
}
