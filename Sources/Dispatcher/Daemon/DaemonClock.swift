/// Where the daemon's parts read the time: injected through `DaemonConfiguration`, so tests
/// can drive it and nothing in the daemon reads a clock inline.
struct DaemonClock: Sendable {
    /// Wall-clock time as stored: integer milliseconds since the Unix epoch.
    var wallMilliseconds: @Sendable () -> Int64 = { WallClock.nowMilliseconds() }
    /// Monotonic time, for intervals that must not jump with the wall clock.
    var monotonic: @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
}
