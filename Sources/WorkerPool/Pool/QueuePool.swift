import ServiceLifecycle

/// A running pool of workers for one queue, whatever transport its workers speak: what the
/// daemon's feeder, completer and gauges see. `WorkerPool` is the implementation for every
/// `UpstreamTransport`; the daemon's builder is the only place that names a concrete transport.
public protocol QueuePool: Service, Sendable {
    /// Workers, capacity, timeouts, breaker.
    var configuration: WorkerPoolConfiguration { get }

    /// The upstream's name for logs (its URL).
    var upstreamName: String { get }

    /// The upstream's circuit breaker (shared by every pool calling that upstream): the feeder
    /// asks it before claiming.
    var breaker: UpstreamBreaker { get }

    /// Hands jobs to the workers in order, suspending while the channel is full.
    ///
    /// - Returns: how many of the first jobs were accepted; the caller still owns the rest
    ///   (the pool is finishing or shutting down).
    func submit(contentsOf jobs: [RPCJob]) async -> Int

    /// Jobs waiting in the channel.
    var bufferedCount: Int { get }

    /// No more jobs: workers finish what is buffered, then `run()` returns.
    func finish()

    /// A snapshot of the pool's counters.
    var currentStatistics: PoolStatistics { get }

    /// Where the workers wait for a slot: the adaptive limit and the leased slots (nil when the
    /// queue has neither: `workers` alone bound it).
    var concurrencyGate: ConcurrencyGate? { get }
}

extension QueuePool {
    /// Calls that may be in flight now: `workers`, or the adaptive limit, cut to leased slots.
    public var concurrencyLimit: Int { concurrencyGate?.currentLimit ?? configuration.workers }
}

extension WorkerPool: QueuePool {
    public var upstreamName: String { transport.name }
}
