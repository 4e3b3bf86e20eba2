/// How many calls a queue may have in flight, moved by what the upstream's answers say: a pure
/// state machine (additive increase, multiplicative decrease), driven by the caller's clock and
/// tested event by event.
///
/// The limit starts at `initial` and stays in `1...maximum` (the worker count). Completions are
/// counted in windows of `limit` calls, about one round trip each. At a window's end:
/// - its mean latency above `tolerance` × the baseline (the lowest window mean seen, aged up
///   slowly so a lastingly slower upstream becomes the new normal) means calls are queueing
///   upstream: the limit falls to `limit × backoff` (at least one less);
/// - otherwise, if the window used the whole limit, the limit may grow by one, but only after
///   `hold` good windows in a row since it last fell: probing past the knee costs one slow
///   window now and then, not every round trip.
///
/// An overload answer (a timeout, 429, 503: a failure that counts for the breaker) lowers the
/// limit at once, once per window, and starts a new window.
public struct AdaptiveLimit<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// The algorithm's constants.
    public struct Configuration: Sendable, Equatable {
        /// The highest limit: the queue's workers.
        public var maximum: Int
        /// Where the limit starts.
        public var initial: Int
        /// A window's mean latency above this multiple of the baseline is congestion.
        public var tolerance: Double = 1.5
        /// The factor the limit is multiplied by on congestion.
        public var backoff: Double = 0.8
        /// Good full windows needed after a decrease before the limit grows again.
        public var hold: Int = 8
        /// How much the baseline rises each window it is not undercut (1 %: about 40 windows
        /// of a steadily slower upstream raise it by half).
        public var baselineAging: Double = 0.01

        public init(maximum: Int, initial: Int? = nil) {
            precondition(maximum >= 1, "an adaptive limit needs a maximum ≥ 1")
            self.maximum = maximum
            self.initial = min(maximum, max(1, initial ?? 1))
        }
    }

    /// What a call's end says about the upstream.
    public enum Signal: Sendable, Equatable {
        /// An answer (success or a failure of the job's own).
        case answered
        /// A timeout or an overload status: the upstream is struggling.
        case overloaded
        /// The call said nothing about the upstream (shutdown, not attempted).
        case ignored
    }

    public let configuration: Configuration
    /// Calls that may be in flight now.
    public private(set) var limit: Int
    /// Calls in flight now (started and not yet ended).
    public private(set) var inFlight = 0
    /// The no-load latency estimate, in seconds; nil before the first window.
    public private(set) var baseline: Double?

    private var windowCalls = 0
    private var windowLatency = 0.0
    private var windowPeak = 0
    private var goodWindows = 0

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.limit = configuration.initial
        self.goodWindows = configuration.hold
    }

    /// Takes a slot for a call if one is free.
    public mutating func start() -> Bool {
        guard inFlight < limit else { return false }
        inFlight += 1
        windowPeak = max(windowPeak, inFlight)
        return true
    }

    /// A call that held a slot ended after `latency`.
    public mutating func end(latency: Duration, signal: Signal) {
        precondition(inFlight > 0, "end without start")
        inFlight -= 1
        switch signal {
        case .ignored:
            return
        case .overloaded:
            decrease()
            beginWindow()
            return
        case .answered:
            windowCalls += 1
            windowLatency += latency.seconds
        }
        guard windowCalls >= limit else { return }
        let mean = windowLatency / Double(windowCalls)
        let congested = baseline.map { mean > $0 * configuration.tolerance } ?? false
        if congested {
            decrease()
            // At one call in flight nothing is ours to relieve: this is the upstream's pace now.
            if limit == 1 { baseline = mean }
        } else {
            if windowPeak >= limit {
                goodWindows += 1
                if goodWindows > configuration.hold { limit = min(configuration.maximum, limit + 1) }
            }
        }
        baseline = baseline.map { min(mean, $0 * (1 + configuration.baselineAging)) } ?? mean
        beginWindow()
    }

    private mutating func decrease() {
        let lower = Int((Double(limit) * configuration.backoff).rounded(.down))
        limit = max(1, min(limit - 1, lower))
        goodWindows = 0
    }

    private mutating func beginWindow() {
        windowCalls = 0
        windowLatency = 0
        windowPeak = inFlight
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
