/// How a `WorkerPool` runs.
public struct WorkerPoolConfiguration: Sendable {
    /// Workers, which is also the number of upstream connections and the most calls in flight.
    public var workers: Int = 8
    /// Jobs buffered between the producer and the workers; nil means twice the workers.
    public var channelCapacity: Int?
    /// How long in-flight calls may take to finish once graceful shutdown begins; after that
    /// they are cancelled (and reported as retryable failures).
    public var drainTimeout: Duration = .seconds(30)
    /// Delay between a worker's attempts to (re)connect.
    public var reconnectBackoff: RetryPolicy = .exponentialJitter(
        base: .milliseconds(100), cap: .seconds(5), minimum: .milliseconds(50))
    /// When the circuit breaker opens and how long it stays open.
    public var breaker = CircuitBreaker<ContinuousClock.Instant>.Configuration()
    /// Calls per period shared by all workers; nil: as fast as the workers go.
    public var rateLimit: TokenBucket<ContinuousClock.Instant>.Configuration?
    /// Whether the calls in flight are bounded by an `AdaptiveLimit` (at most `workers`, moved
    /// by the upstream's latency and overload answers) rather than by `workers` alone.
    public var adaptiveConcurrency = false
    /// Whether the calls in flight are also bounded by slots leased from outside the pool (the
    /// queue's fleet-wide `max_in_flight`), set on `WorkerPool.concurrencyGate`; none until then.
    public var leasesSlots = false
    /// The `queue` label on metrics and the `queue` metadata on log lines.
    public var label: String = "default"

    public init(workers: Int = 8, label: String = "default") {
        self.workers = workers
        self.label = label
    }

    /// The channel capacity in effect.
    public var effectiveChannelCapacity: Int {
        max(1, channelCapacity ?? workers * 2)
    }
}
