/// A circuit breaker for one upstream, as a pure state machine.
///
///     closed ──N consecutive breaker failures──► open ──cool-down elapsed──► half-open
///       ▲                                          ▲                          │ one probe call
///       └──────────── probe succeeds ──────────────┼──── probe fails ─────────┘
///
/// The owner asks `acquire(now:)` before each call and reports the call with `record`; both
/// return what changed so the owner can log and export it. It lives at the call layer (the
/// workers consult it), not in the pool: while it is open, jobs are handed back unattempted.
public struct CircuitBreaker<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// When to open and how long to stay open.
    public struct Configuration: Sendable, Equatable {
        /// Consecutive retryable failures that open the breaker.
        public var failureThreshold: Int = 5
        /// How long the breaker stays open before letting one probe call through.
        public var coolDown: Duration = .seconds(5)

        public init(failureThreshold: Int = 5, coolDown: Duration = .seconds(5)) {
            self.failureThreshold = failureThreshold
            self.coolDown = coolDown
        }
    }

    /// Where the breaker is.
    public enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        case open(until: Instant)
        case halfOpen(probeInFlight: Bool)
    }

    /// The answer to "may I call?".
    public enum Permit: Sendable, Equatable {
        /// Call normally.
        case allowed
        /// Call: this is the half-open probe whose result decides the breaker.
        case probe
        /// Do not call; ask again no earlier than the given instant.
        case rejected(retryAt: Instant)
    }

    /// What a producer may claim for this upstream (the daemon's feeder asks before claiming).
    public enum Admission: Sendable, Equatable {
        /// The breaker is closed: claim as usual.
        case unrestricted
        /// A probe is due: claim one job, whose call decides the breaker.
        case probe
        /// Claim nothing before the given instant.
        case wait(until: Instant)
    }

    /// A change worth logging.
    public enum Transition: Sendable, Equatable {
        case opened
        case halfOpened
        case closed
    }

    public let configuration: Configuration
    public private(set) var state: State = .closed(consecutiveFailures: 0)

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Asks whether a call may be made at `now`.
    public mutating func acquire(now: Instant) -> (Permit, Transition?) {
        switch state {
        case .closed:
            return (.allowed, nil)
        case .open(let until):
            guard now >= until else { return (.rejected(retryAt: until), nil) }
            state = .halfOpen(probeInFlight: true)
            return (.probe, .halfOpened)
        case .halfOpen(let probeInFlight):
            if probeInFlight {
                // Others wait for the probe's verdict; a short wait, the probe has a deadline.
                return (.rejected(retryAt: now.advanced(by: min(configuration.coolDown, .seconds(1)))), nil)
            }
            state = .halfOpen(probeInFlight: true)
            return (.probe, nil)
        }
    }

    /// What a producer may claim at `now`; asking changes nothing.
    ///
    /// | state                       | admission                                   |
    /// |-----------------------------|---------------------------------------------|
    /// | closed                      | unrestricted                                |
    /// | open, cool-down running     | wait until the cool-down ends               |
    /// | open, cool-down over        | probe                                       |
    /// | half-open, probe in flight  | wait (at most 100 ms) for the probe's verdict |
    /// | half-open, no probe         | probe                                       |
    public func admission(now: Instant) -> Admission {
        switch state {
        case .closed:
            return .unrestricted
        case .open(let until):
            return now >= until ? .probe : .wait(until: until)
        case .halfOpen(let probeInFlight):
            return probeInFlight
                ? .wait(until: now.advanced(by: min(configuration.coolDown, .milliseconds(100)))) : .probe
        }
    }

    /// Reports that a call made with `permit` reached a healthy upstream (a result, or an error
    /// that is about the job rather than the upstream).
    public mutating func recordSuccess(permit: Permit) -> Transition? {
        switch state {
        case .closed:
            state = .closed(consecutiveFailures: 0)
            return nil
        case .halfOpen:
            guard permit == .probe else { return nil }
            state = .closed(consecutiveFailures: 0)
            return .closed
        case .open:
            // A call admitted before the breaker opened finished well; the open state stands
            // until a probe proves the upstream is back.
            return nil
        }
    }

    /// Reports a failure that says the upstream is unhealthy (connect error, timeout, 5xx...).
    public mutating func recordFailure(permit: Permit, now: Instant) -> Transition? {
        switch state {
        case .closed(let failures):
            if failures + 1 >= configuration.failureThreshold {
                state = .open(until: now.advanced(by: configuration.coolDown))
                return .opened
            }
            state = .closed(consecutiveFailures: failures + 1)
            return nil
        case .halfOpen:
            guard permit == .probe else { return nil }
            state = .open(until: now.advanced(by: configuration.coolDown))
            return .opened
        case .open:
            return nil
        }
    }

    /// Reports that a probe ended without a verdict (for instance cancelled at shutdown), so
    /// another caller may probe.
    public mutating func releaseProbe(permit: Permit) {
        if permit == .probe, case .halfOpen = state {
            state = .halfOpen(probeInFlight: false)
        }
    }

    /// The state as a number for a gauge: 0 closed, 1 half-open, 2 open.
    public var gaugeValue: Int {
        switch state {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        }
    }
}
