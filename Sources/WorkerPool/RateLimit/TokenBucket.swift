/// A token bucket as a pure state machine: `rate` calls per `period`, with up to `burst` at once
/// after a quiet spell. Driven by the caller's clock, so tests step it without sleeping.
///
/// Implemented as the generic cell rate algorithm: one token is worth `period / rate` (the
/// emission interval `T`), and the bucket remembers the theoretical arrival time `tat` of the
/// next call at the steady rate. A call at `now` is granted when `now ≥ tat − (burst − 1)·T`,
/// and then `tat = max(tat, now) + T`. In any window of length `W` at most
/// `burst + W / T` calls are granted; with `200/s` and burst 1: at most 201 in any second.
///
/// | rate    | burst | emission interval | most calls in any 1 s window |
/// |---------|-------|-------------------|------------------------------|
/// | 200/s   | 1     | 5 ms              | 201                          |
/// | 200/s   | 50    | 5 ms              | 250                          |
/// | 60/m    | 1     | 1 s               | 2                            |
public struct TokenBucket<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// How many calls may be made, and how bursty they may be.
    public struct Configuration: Sendable, Equatable, CustomStringConvertible {
        /// Calls per `period`.
        public var rate: Int
        /// The period `rate` is counted over (one second or one minute).
        public var period: Duration
        /// Calls that may go at once after a quiet spell (at least 1).
        public var burst: Int = 1

        public init(rate: Int, period: Duration, burst: Int = 1) {
            self.rate = rate
            self.period = period
            self.burst = burst
        }

        /// The time one token is worth.
        public var emissionInterval: Duration { period / rate }

        /// Calls per second, for sizing what may wait for a token.
        public var callsPerSecond: Double {
            Double(rate) / (Double(period.components.seconds) + Double(period.components.attoseconds) / 1e18)
        }

        public var description: String {
            let unit = period == .seconds(60) ? "m" : "s"
            return "\(rate)/\(unit) burst \(burst)"
        }
    }

    /// The answer to "may I call now?".
    public enum Answer: Sendable, Equatable {
        /// Call now; the token is spent.
        case granted
        /// No token yet; ask again at the instant given.
        case wait(until: Instant)
    }

    public let configuration: Configuration
    /// When the next call is due at the steady rate; nil until the first call.
    public private(set) var theoreticalArrival: Instant?

    public init(configuration: Configuration) {
        precondition(configuration.rate >= 1 && configuration.burst >= 1, "a rate limit needs rate and burst ≥ 1")
        self.configuration = configuration
    }

    /// Takes a token at `now` if one is available.
    public mutating func take(now: Instant) -> Answer {
        let interval = configuration.emissionInterval
        let tolerance = interval * (configuration.burst - 1)
        let arrival = theoreticalArrival.map { max($0, now) } ?? now
        let earliest = arrival.advanced(by: .zero - tolerance)
        guard now >= earliest else { return .wait(until: earliest) }
        theoreticalArrival = arrival.advanced(by: interval)
        return .granted
    }
}
