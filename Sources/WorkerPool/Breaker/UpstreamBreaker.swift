import CoreMetrics
import Logging
import Synchronization

/// The circuit breaker of one upstream, shared by every queue whose pool calls it and consulted
/// by the daemon's feeders, so an outage is noticed once and no queue keeps claiming jobs for an
/// upstream known to be down.
///
/// It wraps the pure `CircuitBreaker` with a lock, logs each transition once (not once per
/// queue or worker), exports the state to every attached gauge, and keeps one warning per
/// outage: the first failed connect logs `upstream unreachable` with its cause, later ones are
/// debug lines, and the first connect that works logs `upstream reachable again`.
public final class UpstreamBreaker: Sendable {
    public typealias Breaker = CircuitBreaker<ContinuousClock.Instant>

    private struct State {
        var breaker: Breaker
        /// The cause of the current outage, while connects fail.
        var outage: String?
        /// The most recent failure that counted, for the breaker-opened line.
        var lastFailure: String?
        var gauges: [Gauge] = []
        /// Whether this opening of the breaker was already announced: a failed probe reopens it
        /// quietly, so an outage costs one warning, not one per cool-down.
        var announcedOpen = false
    }

    /// The upstream's name for logs.
    public let upstream: String
    private let state: Mutex<State>
    private let logger: Logger

    /// - Parameters:
    ///   - upstream: the upstream's name (its URL), added to every log line.
    ///   - logger: where transitions and outages are logged.
    public init(upstream: String, configuration: Breaker.Configuration, logger: Logger) {
        self.upstream = upstream
        self.state = Mutex(State(breaker: Breaker(configuration: configuration)))
        var logger = logger
        logger[metadataKey: "upstream"] = "\(upstream)"
        self.logger = logger
    }

    /// When and how far the feeder may claim jobs for this upstream.
    public func admission(now: ContinuousClock.Instant) -> Breaker.Admission {
        state.withLock { $0.breaker.admission(now: now) }
    }

    /// The breaker's configuration.
    public var configuration: Breaker.Configuration { state.withLock { $0.breaker.configuration } }

    /// The state as a number for a gauge or a status page: 0 closed, 1 half-open, 2 open.
    public var gaugeValue: Int { state.withLock { $0.breaker.gaugeValue } }

    /// Exports the state (0 closed, 1 half-open, 2 open) to `gauge` from now on.
    func attach(_ gauge: Gauge) {
        let value = state.withLock { state in
            state.gauges.append(gauge)
            return state.breaker.gaugeValue
        }
        gauge.record(value)
    }

    func acquire(now: ContinuousClock.Instant) -> Breaker.Permit {
        let (permit, transition) = state.withLock { $0.breaker.acquire(now: now) }
        report(transition)
        return permit
    }

    func recordSuccess(permit: Breaker.Permit) {
        report(state.withLock { $0.breaker.recordSuccess(permit: permit) })
    }

    func recordFailure(permit: Breaker.Permit, now: ContinuousClock.Instant, cause: String) {
        report(
            state.withLock { state in
                state.lastFailure = cause
                return state.breaker.recordFailure(permit: permit, now: now)
            })
    }

    func releaseProbe(permit: Breaker.Permit) {
        state.withLock { $0.breaker.releaseProbe(permit: permit) }
    }

    /// A connect (TCP, and TLS where used) worked: ends an outage, and a probe's success closes
    /// the breaker. An ordinary connect does not reset the failure count: an upstream that
    /// fails every call and closes the connection must still open the breaker.
    func connectSucceeded(permit: Breaker.Permit, failedAttempts: Int) {
        let endedOutage = state.withLock { state -> String? in
            defer { state.outage = nil }
            return state.outage
        }
        if let endedOutage {
            logger.notice(
                "upstream reachable again", metadata: ["failed_connects": "\(failedAttempts)", "was": "\(endedOutage)"])
        }
        if permit == .probe { recordSuccess(permit: permit) }
    }

    /// A connect failed with `cause`: counts for the breaker, and starts an outage (one warning)
    /// unless one is under way.
    func connectFailed(permit: Breaker.Permit, now: ContinuousClock.Instant, cause: String) {
        let first = state.withLock { state -> Bool in
            defer { state.outage = cause }
            return state.outage == nil
        }
        if first {
            logger.warning("upstream unreachable", metadata: ["error": "\(cause)"])
        } else {
            logger.debug("reconnect failed", metadata: ["error": "\(cause)"])
        }
        recordFailure(permit: permit, now: now, cause: cause)
    }

    private func report(_ transition: Breaker.Transition?) {
        guard let transition else { return }
        let (value, gauges, cause, coolDown, announced) = state.withLock { state in
            defer {
                if transition == .opened { state.announcedOpen = true }
                if transition == .closed { state.announcedOpen = false }
            }
            return (
                state.breaker.gaugeValue, state.gauges, state.lastFailure, state.breaker.configuration.coolDown,
                state.announcedOpen
            )
        }
        for gauge in gauges { gauge.record(value) }
        switch transition {
        case .opened where announced:
            logger.info("circuit breaker open again: the probe failed", metadata: ["cause": "\(cause ?? "unknown")"])
        case .opened:
            logger.warning(
                "circuit breaker opened", metadata: ["cool_down": "\(coolDown)", "cause": "\(cause ?? "unknown")"])
        case .halfOpened:
            logger.info("circuit breaker half-open: probing upstream")
        case .closed:
            logger.notice("circuit breaker closed: upstream healthy")
        }
    }
}
