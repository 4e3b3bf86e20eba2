import NIOCore
import NIOSSL

/// The TLS part of a new upstream connection's pipeline, the same for HTTP/1.1 and gRPC.
enum UpstreamTLSHandlers {
    /// Adds the TLS client handler and the handshake waiter to `channel`'s pipeline (on its
    /// event loop, from the bootstrap's initializer) and returns the handshake's future.
    ///
    /// SNI carries names only; an IP literal is verified against the certificate's IP SANs
    /// (NIOSSL checks the peer address when no server name is given).
    static func add(
        to channel: any Channel, context: NIOSSLContext, url: UpstreamURL,
        certificateRequests: ClientCertificateRequests?, timeout: TimeAmount
    ) throws -> EventLoopFuture<Void> {
        try channel.pipeline.syncOperations.addHandler(
            NIOSSLClientHandler(context: context, serverHostname: url.hostIsIPAddress ? nil : url.host))
        let promise = channel.eventLoop.makePromise(of: Void.self)
        try channel.pipeline.syncOperations.addHandler(
            TLSHandshakeWaiter(handshake: promise, certificateRequests: certificateRequests, timeout: timeout))
        return promise.futureResult
    }
}
