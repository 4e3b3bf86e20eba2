import Logging
import ServiceLifecycle
import Synchronization

/// A fixed set of workers drawing RPC jobs from a bounded channel, each owning one upstream
/// connection for its whole life.
///
/// Concurrency towards the upstream is exactly `configuration.workers`: a worker makes one call
/// at a time on its own connection, and reconnects (with capped backoff) only when that
/// connection breaks. Producers `submit` jobs and are suspended while the channel is full.
/// Every job ends in exactly one call of `onOutcome`: with the call's result, or as
/// *not attempted* when the circuit breaker is open or the pool shut down before a worker took it.
///
/// As a swift-service-lifecycle `Service`, `run()` returns after `finish()` once the buffered
/// jobs are done, or on graceful shutdown: buffered jobs are handed back at once, in-flight
/// calls get `drainTimeout` to finish, then connections are closed.
public final class WorkerPool<Transport: UpstreamTransport>: Service, Sendable {
    public let configuration: WorkerPoolConfiguration
    let transport: Transport
    let logger: Logger
    let channel: BoundedChannel<RPCJob>
    /// The upstream's breaker, possibly shared with other pools calling the same upstream.
    public let breaker: UpstreamBreaker
    /// The queue's rate limit, when it has one.
    let rateLimiter: RateLimiter?
    /// The queue's adaptive limit and leased slots, when it has either.
    public let concurrencyGate: ConcurrencyGate?
    let onOutcome: nonisolated(nonsending) @Sendable (JobOutcome) async -> Void
    let metrics: PoolMetrics
    let statistics = Mutex(PoolStatistics())

    /// - Parameters:
    ///   - configuration: workers, capacity, timeouts, breaker.
    ///   - transport: how to reach the upstream.
    ///   - logger: the pool adds `queue` metadata; it never creates a logger of its own.
    ///   - breaker: the upstream's circuit breaker, to share one between pools that call the
    ///     same upstream; nil makes one from `configuration.breaker`.
    ///   - onOutcome: called once per job, from the worker that ran it; it should be quick
    ///     (buffer the outcome), since the worker waits for it before taking the next job.
    public init(
        configuration: WorkerPoolConfiguration,
        transport: Transport,
        logger: Logger,
        breaker: UpstreamBreaker? = nil,
        onOutcome: nonisolated(nonsending) @escaping @Sendable (JobOutcome) async -> Void
    ) {
        precondition(configuration.workers >= 1, "a worker pool needs at least one worker")
        self.configuration = configuration
        self.transport = transport
        var logger = logger
        logger[metadataKey: "queue"] = "\(configuration.label)"
        self.logger = logger
        self.channel = BoundedChannel(capacity: configuration.effectiveChannelCapacity)
        self.breaker =
            breaker ?? UpstreamBreaker(upstream: transport.name, configuration: configuration.breaker, logger: logger)
        self.rateLimiter = configuration.rateLimit.map(RateLimiter.init)
        self.onOutcome = onOutcome
        let metrics = PoolMetrics(label: configuration.label)
        self.metrics = metrics
        if configuration.adaptiveConcurrency || configuration.leasesSlots {
            // Leased slots start at none: the first renewal, before any call, grants them.
            self.concurrencyGate = ConcurrencyGate(
                workers: configuration.workers,
                adaptive: configuration.adaptiveConcurrency ? .init(maximum: configuration.workers) : nil,
                ceiling: configuration.leasesSlots ? 0 : nil
            ) {
                metrics.concurrencyLimit.record($0)
            }
        } else {
            self.concurrencyGate = nil
            metrics.concurrencyLimit.record(configuration.workers)
        }
        self.breaker.attach(metrics.breakerState)
    }

    // MARK: Producer side

    /// Hands a job to the workers, suspending while the channel is full.
    ///
    /// - Throws: `BoundedChannelError` (`.finished`) once the pool is finishing or shutting
    ///   down, or `CancellationError`; the job was then not accepted and the caller still owns it.
    func submit(_ job: RPCJob) async throws {
        try await channel.send(job)
    }

    /// Hands jobs to the workers in order, as many at once as the channel takes, suspending
    /// while it is full.
    ///
    /// - Returns: how many of the first jobs were accepted; fewer than `jobs.count` once the
    ///   pool is finishing or shutting down, or the task is cancelled, and the caller still owns
    ///   the rest.
    public func submit(contentsOf jobs: [RPCJob]) async -> Int {
        await channel.send(contentsOf: jobs)
    }

    /// Jobs waiting in the channel.
    public var bufferedCount: Int { channel.count }

    /// No more jobs: workers finish what is buffered, then `run()` returns.
    public func finish() {
        channel.finish()
    }

    /// A snapshot of the pool's counters.
    public var currentStatistics: PoolStatistics {
        statistics.withLock { $0 }
    }

    // MARK: Running

    public func run() async throws {
        logger.info(
            "worker pool starting",
            metadata: [
                "workers": "\(configuration.workers)", "upstream": "\(transport.name)",
                "rate": "\(configuration.rateLimit.map { "\($0)" } ?? "unlimited")",
            ])
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { workers in
                    for index in 0..<self.configuration.workers {
                        workers.addTask { await self.runWorker(index) }
                    }
                }
            }
            group.addTask {
                do {
                    try await gracefulShutdown()
                } catch {
                    return  // Cancelled: the workers are done (or the pool is being cancelled).
                }
                await self.handBackBuffered()
                // The drain window: in-flight calls finish, or are cancelled when it ends.
                try? await Task.sleep(for: self.configuration.drainTimeout)
                if !Task.isCancelled {
                    self.logger.warning("drain timeout reached; cancelling in-flight calls")
                }
            }
            // Whichever ends first (all workers, or the drain window) ends the other.
            await group.next()
            group.cancelAll()
        }
        let statistics = currentStatistics
        logger.info(
            "worker pool stopped",
            metadata: [
                "connections_opened": "\(statistics.connectionsOpened)", "calls": "\(statistics.calls)",
                "peak_in_flight": "\(statistics.peakCallsInFlight)",
            ])
    }

    /// Closes the channel and reports every buffered job as not attempted.
    func handBackBuffered() async {
        let unstarted = channel.close()
        if !unstarted.isEmpty {
            logger.info("handing back buffered jobs", metadata: ["count": "\(unstarted.count)"])
        }
        for job in unstarted {
            let outcome = CallOutcome.notAttempted(.init(reason: "dispatcher shutting down"))
            metrics.record(outcome, latency: .zero)
            await onOutcome(JobOutcome(job: job, outcome: outcome, latency: .zero))
        }
    }
}
