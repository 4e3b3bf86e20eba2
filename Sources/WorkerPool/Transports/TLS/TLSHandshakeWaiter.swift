import NIOCore
import NIOTLS
import Synchronization

/// Remembers whether an upstream's server asked for a client certificate this client does not
/// have. Set from NIOSSL's certificate callback, which BoringSSL calls on a client only when the
/// server sends a CertificateRequest.
final class ClientCertificateRequests: Sendable {
    private let requested = Atomic<Bool>(false)

    var wereMade: Bool { requested.load(ordering: .relaxed) }

    func record() { requested.store(true, ordering: .relaxed) }
}

/// Completes `handshake` when the TLS handshake is finished and the connection can be trusted,
/// or fails it with the handshake's error, so the transport treats every TLS failure as a
/// connect failure (no job is written to a connection that never became usable). Passes
/// everything through.
///
/// A TLS 1.3 server checks the client certificate only after the client has finished its side
/// of the handshake, and refuses with an alert one round trip later. So when the server asked
/// for a certificate this client does not have (`certificateRequests`), the handshake counts as
/// finished only once that round trip passed without an alert: twice the handshake's duration,
/// at least 100 ms, at most 2 s. A server that asked without requiring one then costs one such
/// wait per connection, nothing per call.
final class TLSHandshakeWaiter: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    let handshake: EventLoopPromise<Void>
    let certificateRequests: ClientCertificateRequests?
    /// How long the TCP connect and the handshake may take together.
    let timeout: TimeAmount
    private var done = false
    private var started: NIODeadline?
    private var settling: Scheduled<Void>?
    private var expiry: Scheduled<Void>?

    init(handshake: EventLoopPromise<Void>, certificateRequests: ClientCertificateRequests?, timeout: TimeAmount) {
        self.handshake = handshake
        self.certificateRequests = certificateRequests
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        started = .now()
        // NIOSSL has no handshake timeout of its own: a peer that accepts TCP and then says
        // nothing would hold the worker (and a breaker probe) forever.
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let timeout = self.timeout
        expiry = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.finish(with: TLSHandshakeTimeout(timeout: timeout))
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, !done {
            if let certificateRequests, certificateRequests.wereMade {
                let took = NIODeadline.now() - (started ?? .now())
                let settle = min(max(took * 2, .milliseconds(100)), .seconds(2))
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                settling = context.eventLoop.scheduleTask(in: settle) { bound.value.finish(with: nil) }
            } else {
                finish(with: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(with: error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(with: ChannelError.eof)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(with: ChannelError.ioOnClosedChannel)
    }

    private func finish(with error: (any Error)?) {
        guard !done else { return }
        done = true
        settling?.cancel()
        settling = nil
        expiry?.cancel()
        expiry = nil
        if let error {
            handshake.fail(error)
        } else {
            handshake.succeed()
        }
    }
}

/// The TCP connect and TLS handshake did not finish within the connect timeout.
struct TLSHandshakeTimeout: Error, CustomStringConvertible {
    var timeout: TimeAmount
    var description: String { "no TLS handshake within \(timeout.nanoseconds / 1_000_000) ms" }
}
