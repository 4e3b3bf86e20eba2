/// A call's deadline as the server sees it: the `grpc-timeout` header. The client enforces the
/// same deadline with its connection's timer (see `GRPCClientHandler`).
enum GRPCCallDeadline {
    /// The `grpc-timeout` value for `timeout`: at most 8 digits and a unit, rounded up, as the
    /// gRPC over HTTP/2 protocol asks.
    static func header(for timeout: Duration) -> String {
        let (seconds, attoseconds) = timeout.components
        let milliseconds = max(1, seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
        if milliseconds <= 99_999_999 { return "\(milliseconds)m" }
        let wholeSeconds = (milliseconds + 999) / 1000
        if wholeSeconds <= 99_999_999 { return "\(wholeSeconds)S" }
        return "\(min(99_999_999, (wholeSeconds + 3599) / 3600))H"
    }
}
