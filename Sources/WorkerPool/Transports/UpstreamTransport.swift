/// A way of reaching an upstream service: opens connections that make RPC calls.
///
/// A worker holds exactly one connection at a time, for as long as it stays usable, so the
/// number of live connections never exceeds the number of workers.
public protocol UpstreamTransport: Sendable {
    associatedtype Connection: UpstreamConnection

    /// The upstream's name for logs and metric labels (for instance its URL).
    var name: String { get }

    /// Opens one connection, runs `body` with it, and closes it when `body` returns or throws.
    ///
    /// - Throws: the connect error when the connection cannot be opened (`body` is then not
    ///   called), or what `body` throws.
    func withConnection<Result: Sendable>(_ body: (inout Connection) async throws -> Result) async throws -> Result
}

/// One live connection to the upstream, used by one worker.
public protocol UpstreamConnection {
    /// Makes one call within `job.timeout`. Never throws: every failure is classified.
    nonisolated(nonsending) mutating func call(_ job: RPCJob) async -> CallOutcome

    /// False once the connection must not carry another call: the peer asked to close it, a
    /// call timed out (its state is unknown), or it broke.
    var isReusable: Bool { get }

    /// Set when the upstream refused the connection itself during a call (a TLS 1.3 server
    /// rejects a missing client certificate only after the client finished its handshake): the
    /// call returned `.notAttempted`, and the worker counts a failed connect with this cause.
    var rejection: String? { get }
}

extension UpstreamConnection {
    public var rejection: String? { nil }
}
