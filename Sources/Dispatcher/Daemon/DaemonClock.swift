/// Where the daemon's parts read the time and wait for it: injected through
/// `DaemonConfiguration`, so tests can drive it (`ManualDaemonClock`) and nothing in the daemon
/// reads a clock or sleeps inline.
struct DaemonClock: Sendable {
    /// Wall-clock time as stored: integer milliseconds since the Unix epoch.
    var wallMilliseconds: @Sendable () -> Int64 = { WallClock.nowMilliseconds() }
    /// Monotonic time, for intervals that must not jump with the wall clock.
    var monotonic: @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    /// Waits `duration` of `monotonic` time; throws `CancellationError` when the task is
    /// cancelled first.
    var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
}
