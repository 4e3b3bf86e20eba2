import NIOCore
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
    /// connects: adds a handler that reports when the connection is up, when it goes down, and
    /// when it never came up.
    func connectionCreated(_ channel: any Channel) -> EventLoopFuture<Void> {
        channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(ConnectionEventsHandler(watch: self), position: .first)
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

    fileprivate func connectFailed() {
        let error = GRPCConnectError(message: "connection refused or failed")
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard state.opened == 0 else { return nil }
            state.failure = error
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: error)
    }

    /// Whether the client's connection has closed (or the client needed a second one).
    var isBroken: Bool {
        state.withLock { $0.closed || $0.opened > 1 }
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

/// Tells the watch when a connection is established (`channelActive`), when it goes away
/// (`channelInactive`), and when it was torn down without ever being established (a refused or
/// failed connect). Lives on the connection's event loop.
private final class ConnectionEventsHandler: ChannelInboundHandler {
    typealias InboundIn = Any

    let watch: GRPCConnectionWatch
    private var wasActive = false

    init(watch: GRPCConnectionWatch) {
        self.watch = watch
    }

    func channelActive(context: ChannelHandlerContext) {
        wasActive = true
        watch.connectionBecameActive()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        watch.connectionBecameInactive()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if !wasActive { watch.connectFailed() }
    }
}
