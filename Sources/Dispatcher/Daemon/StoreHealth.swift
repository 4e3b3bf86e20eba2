import Logging
import Synchronization
import WorkerPool

/// The one place that reports the store's outages: the feeders, the completer, the lease
/// keeper and the pruner tell it how each store operation went, and it logs one error line when an outage
/// starts, debug lines while it lasts, one summary line when it ends
/// (`store writable again after 12.4 s, 61 failed attempts`), and keeps `/healthz` at 503 with
/// the reason meanwhile. The decisions are `StoreOutage`'s; this performs them.
final class StoreHealth: Sendable {
    /// The store operations the daemon reports, named in the log lines.
    enum Operation: String, Sendable {
        case claim
        case complete = "write outcomes"
        case renewLeases = "renew leases"
        case renewSlots = "renew in-flight slots"
        case reap = "reap expired leases"
        case prune = "prune finished jobs"
        case fireSchedules = "enqueue scheduled jobs"
    }

    private let outage: Mutex<StoreOutage<ContinuousClock.Instant>>
    private let classifier: (any StoreFailureClassifying)?
    private let health: HealthState
    private let clock: DaemonClock
    private let logger: Logger

    /// - Parameters:
    ///   - classifier: the store, when it can tell its failures apart (else all are `unreachable`).
    ///   - health: where `/healthz` reads the store's state.
    init(
        classifier: (any StoreFailureClassifying)?, health: HealthState, clock: DaemonClock, logger: Logger,
        quietPeriod: Duration = .seconds(5)
    ) {
        self.outage = Mutex(StoreOutage(quietPeriod: quietPeriod))
        self.classifier = classifier
        self.health = health
        self.clock = clock
        self.logger = logger
    }

    /// `operation` succeeded; `wrote` says whether it changed any row.
    func succeeded(_ operation: Operation, wrote: Bool) {
        let now = clock.monotonic()
        // Reported under the lock, so /healthz and the log lines follow the outage's order even
        // when two tasks report at once.
        outage.withLock { perform($0.succeeded(wrote ? .wrote : .ran, at: now), operation: operation) }
    }

    /// The instant an operation begins, for `failed(_:error:began:)`.
    func begin() -> ContinuousClock.Instant {
        clock.monotonic()
    }

    /// `operation`, begun at `began` (from `begin()`), failed with `error`.
    func failed(_ operation: Operation, error: any Error, began: ContinuousClock.Instant? = nil) {
        let failure = classifier?.failure(of: error) ?? .unreachable
        let now = clock.monotonic()
        outage.withLock {
            perform($0.failed(failure, reason: "\(error)", at: now, began: began), operation: operation)
        }
    }

    /// The daemon stops: closes the books on an outage still open (see `StoreOutage.finish`).
    func finish() {
        let now = clock.monotonic()
        outage.withLock { perform($0.finish(at: now), operation: nil) }
    }

    private func perform(_ action: StoreOutage<ContinuousClock.Instant>.Action, operation: Operation?) {
        let operation = operation?.rawValue ?? "shutdown"
        switch action {
        case .none:
            return
        case .started(let outage):
            health.update { $0.storeOutage = .init(failure: outage.failure, reason: outage.reason) }
            logger.error(
                "\(outage.failure.state); retrying until it recovers",
                metadata: ["operation": "\(operation)", "error": "\(outage.reason)"])
        case .continuing(let outage):
            health.update { $0.storeOutage = .init(failure: outage.failure, reason: outage.reason) }
            logger.debug(
                "\(outage.failure.state); still retrying",
                metadata: [
                    "operation": "\(operation)", "error": "\(outage.reason)",
                    "failed_attempts": "\(outage.failedAttempts)",
                ])
        case .ended(let failure, let duration, let failedAttempts):
            health.update { $0.storeOutage = nil }
            let again = failure == .unreachable ? "reachable" : "writable"
            logger.warning(
                "store \(again) again after \(Self.seconds(duration)) s, \(failedAttempts) failed attempts",
                metadata: ["outage": "\(failure.rawValue)"])
        case .late(let reason):
            logger.debug(
                "a store operation begun before the last outage ended failed after it; retrying",
                metadata: ["operation": "\(operation)", "error": "\(reason)"])
        case .unresolved(let outage, let duration):
            logger.error(
                "\(outage.failure.state) at shutdown, for \(Self.seconds(duration)) s, \(outage.failedAttempts) failed attempts",
                metadata: ["error": "\(outage.reason)"])
        }
    }

    /// "12.4": seconds with one decimal.
    private static func seconds(_ duration: Duration) -> String {
        let tenths = (duration.wholeMilliseconds + 50) / 100
        return "\(tenths / 10).\(tenths % 10)"
    }
}
