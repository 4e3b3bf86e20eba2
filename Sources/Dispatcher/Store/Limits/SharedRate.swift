import WorkerPool

/// A queue's fleet-wide rate limit as a pure function of one stored number: the theoretical
/// arrival time (`tat`, in microseconds of the store's clock) of the next call at the steady
/// rate, kept in the `queue_rates` row every daemon's claim reads and writes in its transaction.
///
/// The same generic cell rate algorithm as `TokenBucket`, which stays each daemon's inner bound,
/// counted in whole batches: a claim asks how many calls may start now, takes at most that many
/// jobs, and moves `tat` on by the jobs it took, so tokens are never spent on jobs that were not
/// there. In any window of length `W` the fleet starts at most `burst + W / interval` claims.
struct SharedRate: Sendable, Equatable {
    /// Microseconds one call is worth (`period / rate`); at least 1.
    var interval: Int64
    /// Calls that may go at once after a quiet spell.
    var burst: Int

    init(interval: Int64, burst: Int) {
        precondition(interval >= 1 && burst >= 1, "a shared rate needs interval and burst ≥ 1")
        self.interval = interval
        self.burst = burst
    }

    init(_ configuration: TokenBucket<ContinuousClock.Instant>.Configuration) {
        let period = configuration.period.components
        let micros = period.seconds * 1_000_000 + period.attoseconds / 1_000_000_000_000
        self.init(interval: max(1, micros / Int64(configuration.rate)), burst: configuration.burst)
    }

    /// What a claim at `now` may take and what it leaves for the next one.
    struct Grant: Sendable, Equatable {
        /// Calls that may start now (0 … burst).
        var calls: Int
        /// When the next call may start, if none may now (microseconds, the store's clock).
        var nextAt: Int64?
    }

    /// How many calls may start at `now`, given the stored `tat` (nil: never called).
    func grant(theoreticalArrival tat: Int64?, now: Int64) -> Grant {
        let arrival = max(tat ?? now, now)
        let tolerance = interval * Int64(burst - 1)
        let earliest = arrival - tolerance
        guard now >= earliest else { return Grant(calls: 0, nextAt: earliest) }
        // Call i (from 0) is due at arrival + i·interval − tolerance.
        return Grant(calls: Int((now - earliest) / interval) + 1, nextAt: nil)
    }

    /// The `tat` to store after `calls` calls started at `now`.
    func spend(_ calls: Int, theoreticalArrival tat: Int64?, now: Int64) -> Int64 {
        max(tat ?? now, now) + interval * Int64(calls)
    }
}
