import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// Watches the TCP connections a worker's gRPC client opens, so the worker can wait for its one
/// connection before taking jobs and give the client up once that connection is gone.
///
/// grpc-swift would reconnect on its own; the dispatcher instead counts each connection and owns
/// the reconnect policy (backoff, breaker). So a client lives exactly as long as its first
/// connection: once that closes the connection is no longer reusable, no call is made on it,
/// and the worker makes a new client (and counts a new connection).
final class GRPCConnectionWatch: Sendable {
    private struct State {
        var opened = 0
        var closed = false
        var failure: GRPCConnectError?
        var waiter: CheckedContinuation<Void, any Error>?
    }

    private let state = Mutex(State())

    /// Called by the transport's channel initializer for each new TCP connection, before it
    /// connects: adds a handler that reports when the connection is up (connected, and with
    /// `tls` its handshake done), when it goes down, and when it never came up; with `tls`, puts
    /// the TLS handler in front of it.
    func connectionCreated(
        _ channel: any Channel, host: String, tls: (context: NIOSSLContext, serverHostname: String?)?
    ) -> EventLoopFuture<Void> {
        // grpc-swift reconnects at once when a busy connection breaks; refusing the second
        // connection here keeps the client at exactly one, and the worker replaces the client.
        if state.withLock({ $0.opened > 0 }) {
            return channel.eventLoop.makeFailedFuture(
                GRPCConnectError(message: "this client's connection has closed; the worker opens a new client"))
        }
        return channel.eventLoop.submit {
            // One small request and response per call: Nagle's algorithm would hold them back.
            try channel.syncOptions?.setOption(.socketOption(.tcp_nodelay), value: 1)
            let events = ConnectionEventsHandler(watch: self, host: host, waitsForHandshake: tls != nil)
            try channel.pipeline.syncOperations.addHandler(events, position: .first)
            if let tls {
                try channel.pipeline.syncOperations.addHandler(
                    try NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname), position: .first)
            }
        }
    }

    fileprivate func connectionBecameActive() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            state.opened += 1
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    fileprivate func connectionBecameInactive() {
        state.withLock { $0.closed = true }
    }

    fileprivate func connectFailed(_ cause: String) {
        let error = GRPCConnectError(message: cause)
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard state.opened == 0 else { return nil }
            state.failure = error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: error)
    }

    /// Whether the client's connection has closed.
    var isBroken: Bool {
        state.withLock { $0.closed }
    }

    /// Returns once the first connection is open; throws when it failed, or when cancelled.
    func waitForConnection() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready = state.withLock { state -> Result<Bool, GRPCConnectError> in
                    if state.opened > 0 { return .success(true) }
                    if let failure = state.failure { return .failure(failure) }
                    state.waiter = continuation
                    return .success(false)
                }
                switch ready {
                case .success(true): continuation.resume()
                case .success(false): break
                case .failure(let error): continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}

/// Tells the watch when a connection is established (`channelActive`, or with TLS the end of
/// the handshake), when it goes away (`channelInactive`), and when it was torn down without ever
/// being established (a refused connect, a failed handshake). Lives on the connection's event
/// loop.
private final class ConnectionEventsHandler: ChannelInboundHandler {
    typealias InboundIn = Any

    let watch: GRPCConnectionWatch
    let host: String
    let waitsForHandshake: Bool
    private var established = false
    private var error: (any Error)?

    init(watch: GRPCConnectionWatch, host: String, waitsForHandshake: Bool) {
        self.watch = watch
        self.host = host
        self.waitsForHandshake = waitsForHandshake
    }

    func channelActive(context: ChannelHandlerContext) {
        if !waitsForHandshake { establish() }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { establish() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if self.error == nil { self.error = error }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if established { watch.connectionBecameInactive() }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        guard !established else { return }
        if let error, waitsForHandshake {
            watch.connectFailed(TLSFailure.describe(error, host: host))
        } else {
            watch.connectFailed("connection refused or failed" + (error.map { ": \($0)" } ?? ""))
        }
    }

    private func establish() {
        established = true
        watch.connectionBecameActive()
    }
}
