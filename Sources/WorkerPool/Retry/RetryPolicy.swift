import NIOCore

/// Exponential backoff with full jitter and a cap.
///
/// The delay before retry `n` (the first retry is `n = 1`) is drawn uniformly from
///
///     [0, min(cap, base · 2^(n-1))]
///
/// "Full jitter" spreads retries of many jobs that failed together over the whole window, so
/// an upstream that comes back is not hit by a synchronized wave. With `base` 1 s and `cap` 5 min:
///
/// | retry n | upper bound of the delay |
/// |---------|--------------------------|
/// | 1       | 1 s                      |
/// | 2       | 2 s                      |
/// | 3       | 4 s                      |
/// | 5       | 16 s                     |
/// | 9       | 256 s                    |
/// | 10+     | 300 s (cap)              |
public struct RetryPolicy: Sendable, Equatable {
    /// The upper bound of the first delay.
    public var base: Duration
    /// The largest delay.
    public var cap: Duration
    /// No delay is shorter than this (keeps reconnect loops from spinning when the jitter
    /// draws close to zero).
    public var minimum: Duration

    /// Exponential backoff with full jitter: `random(0 ... min(cap, base · 2^(n-1)))`.
    public static func exponentialJitter(base: Duration, cap: Duration, minimum: Duration = .zero) -> RetryPolicy {
        RetryPolicy(base: base, cap: cap, minimum: minimum)
    }

    /// No delay at all.
    public static let none = RetryPolicy(base: .zero, cap: .zero, minimum: .zero)

    /// The upper bound of the delay before retry `n` (1-based).
    func ceiling(retry n: Int) -> Duration {
        guard base > .zero else { return .zero }
        let doublings = max(0, min(n - 1, 62))
        let baseNanoseconds = Double(base.components.seconds) * 1e9 + Double(base.components.attoseconds) / 1e9
        let capNanoseconds = Double(cap.components.seconds) * 1e9 + Double(cap.components.attoseconds) / 1e9
        let bound = min(capNanoseconds, baseNanoseconds * pow2(doublings))
        return .nanoseconds(Int64(bound))
    }

    /// A delay before retry `n` (1-based), drawn with `generator`.
    public func delay(retry n: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling(retry: n)
        let nanoseconds = TimeAmount(ceiling).nanoseconds
        let drawn: Duration =
            nanoseconds > 0 ? .nanoseconds(Int64.random(in: 0...nanoseconds, using: &generator)) : .zero
        return max(minimum, drawn)
    }

    /// A delay before retry `n` (1-based), drawn with the system generator.
    public func delay(retry n: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(retry: n, using: &generator)
    }

    private func pow2(_ exponent: Int) -> Double {
        var value = 1.0
        for _ in 0..<exponent { value *= 2 }
        return value
    }
}
