import Synchronization

/// What one call on the connection came to.
enum GRPCCallResult: Sendable {
    /// The server answered: a message, a status, or a message over the limit.
    case answered(GRPCResponseParser.Outcome)
    /// The server provably did not process the call: it was never sent (the connection had
    /// closed or was going away), or the server refused its stream (GOAWAY's last stream id
    /// below it, or RST_STREAM REFUSED_STREAM).
    case refused(String)
    /// No response within the call's timeout; the stream was reset.
    case deadlineExceeded(Duration)
    /// The connection or the stream broke during the call: whether the server ran it is unknown.
    case broken(any Error)
    /// The worker was cancelled (shutdown); the connection was closed.
    case cancelled
}

/// A connection failure this handler found itself.
struct GRPCConnectionError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Whether a connection may carry another call, readable from the worker without a hop to the
/// event loop (a GOAWAY or a close arrives between calls).
final class GRPCConnectionFlags: Sendable {
    private let reusable = Atomic(true)

    var isReusable: Bool { reusable.load(ordering: .relaxed) }

    func markUnusable() { reusable.store(false, ordering: .relaxed) }
}
