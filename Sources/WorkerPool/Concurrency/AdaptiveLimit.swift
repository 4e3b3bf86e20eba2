/// How many calls a queue may have in flight, moved by what the upstream's answers say: a pure
/// state machine (additive increase, multiplicative decrease) that reads no clock itself: the
/// caller measures each call's latency on its own clock (the worker's `ContinuousClock`, a
/// test's simulated one) and feeds the events in, so tests step it event by event.
///
/// The limit starts at `initial` and stays in `1...maximum` (the worker count). Completions are
/// counted in windows of `limit` calls, about one round trip each. At a window's end:
/// - its mean latency above `tolerance` × the baseline (the lowest window mean seen, aged up
///   slowly so a lastingly slower upstream becomes the new normal), and `slack` above it, means
///   calls are queueing upstream: the limit falls to `limit × backoff` (at least one less);
/// - otherwise, if the window used the whole limit, the limit may grow by one, but only after
///   `hold` good windows in a row since it last fell: probing past the knee costs one slow
///   window now and then, not every round trip.
///
/// An overload answer (a timeout, 429, 503: a failure that counts for the breaker) lowers the
/// limit at once and starts a new window. What a call started before a decrease says is not
/// counted (it met the crowd the decrease answered), so one burst of 503s lowers it once.
public struct AdaptiveLimit: Sendable {
    /// The algorithm's constants.
    public struct Configuration: Sendable, Equatable {
        /// The highest limit: the queue's workers.
        public var maximum: Int
        /// Where the limit starts.
        public var initial: Int
        /// A window's mean latency above this multiple of the baseline is congestion…
        public var tolerance: Double = 1.5
        /// …and only if it is also this much above it: against an upstream answering in tens of
        /// microseconds, a scheduling hiccup doubles a window's mean without any queue upstream.
        public var slack: Duration = .milliseconds(1)
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
    /// `configuration.slack` in seconds.
    private let slack: Double
    private var decreases = 0

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.limit = configuration.initial
        self.slack = configuration.slack.seconds
        self.goodWindows = configuration.hold
    }

    /// A slot held by a call: which limit it started under.
    public struct Slot: Sendable, Equatable {
        /// Decreases before the call started.
        fileprivate var epoch: Int
    }

    /// Takes a slot for a call if one is free.
    public mutating func start() -> Slot? {
        guard inFlight < limit else { return nil }
        inFlight += 1
        windowPeak = max(windowPeak, inFlight)
        return Slot(epoch: decreases)
    }

    /// The call holding `slot` ended after `latency`.
    public mutating func end(_ slot: Slot, latency: Duration, signal: Signal) {
        precondition(inFlight > 0, "end without start")
        inFlight -= 1
        // A call started before the last decrease saw the crowd that caused it: its latency and
        // its answer are about the old limit, and judging the new one by them would lower it
        // again for the same cause.
        guard slot.epoch == decreases else { return }
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
        let congested = baseline.map { mean > max($0 * configuration.tolerance, $0 + slack) } ?? false
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
        decreases += 1
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
