import CoreMetrics
import NIOCore

/// The pool's swift-metrics instruments, created once per pool (the factory lookup and label
/// hashing stay off the per-call path). The library never bootstraps a metrics backend: with
/// none bootstrapped these are no-ops.
struct PoolMetrics: Sendable {
    let connectionsOpened: Counter
    let connectionsOpen: Meter
    let inFlight: Meter
    let callDuration: Timer
    let succeeded: Counter
    let retryable: Counter
    let permanent: Counter
    let notAttempted: Counter
    let breakerState: Gauge
    /// Calls allowed in flight at once: the worker count or the adaptive limit, cut to the slots
    /// the daemon leases of a fleet-wide `max_in_flight`.
    let concurrencyLimit: Gauge

    init(label: String) {
        let queue = [("queue", label)]
        connectionsOpened = Counter(label: "dispatcher_upstream_connections_opened_total", dimensions: queue)
        connectionsOpen = Meter(label: "dispatcher_upstream_connections_open", dimensions: queue)
        inFlight = Meter(label: "dispatcher_calls_in_flight", dimensions: queue)
        callDuration = Timer(
            label: "dispatcher_call_duration_seconds", dimensions: queue, preferredDisplayUnit: .seconds)
        succeeded = Counter(label: "dispatcher_calls_total", dimensions: queue + [("outcome", "succeeded")])
        retryable = Counter(label: "dispatcher_calls_total", dimensions: queue + [("outcome", "retryable")])
        permanent = Counter(label: "dispatcher_calls_total", dimensions: queue + [("outcome", "permanent")])
        notAttempted = Counter(label: "dispatcher_calls_total", dimensions: queue + [("outcome", "not_attempted")])
        breakerState = Gauge(label: "dispatcher_breaker_state", dimensions: queue)
        concurrencyLimit = Gauge(label: "dispatcher_concurrency_limit", dimensions: queue)
    }

    func record(_ outcome: CallOutcome, latency: Duration) {
        switch outcome {
        case .succeeded: succeeded.increment()
        case .failed(let failure): (failure.isRetryable ? retryable : permanent).increment()
        case .notAttempted: notAttempted.increment()
        }
        if case .notAttempted = outcome { return }
        callDuration.recordNanoseconds(TimeAmount(latency).nanoseconds)
    }
}
