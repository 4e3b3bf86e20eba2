/// Counters a pool keeps for its own logs and for callers that want numbers without a metrics
/// backend (the daemon's shutdown summary, tests).
public struct PoolStatistics: Sendable, Equatable {
    /// Connections opened since the pool started; equals the worker count unless the upstream
    /// closed connections.
    public var connectionsOpened = 0
    /// Connections open now.
    public var connectionsOpen = 0
    /// Failed connect attempts.
    public var connectFailures = 0
    /// Calls in flight now.
    public var callsInFlight = 0
    /// The most calls ever in flight at once.
    public var peakCallsInFlight = 0
    /// Calls made (not counting jobs handed back unattempted).
    public var calls = 0
}
