import WorkerPool

/// Samples the gauges that are states rather than events — pending and running jobs per queue,
/// channel depth — once a second, so scrapes never touch the database themselves.
/// Runs only when metrics are exported (`--admin`).
struct GaugeSampler: Sendable {
    let database: any DaemonStore
    let queues: [(name: String, pool: any QueuePool)]
    let metrics: DaemonMetrics
    let interval: Duration
    /// The dashboard's view of breakers and connections, when it is served.
    var liveQueues: LiveQueueBoard?
    /// What the rounds are paced on.
    var clock = DaemonClock()

    /// Runs until cancelled.
    func run() async {
        while !Task.isCancelled {
            for queue in queues {
                guard let gauges = metrics.queues[queue.name] else { continue }
                gauges.channelDepth.record(queue.pool.bufferedCount)
                liveQueues?.update(
                    queue: queue.name,
                    .init(
                        breaker: LiveQueueBoard.breakerName(queue.pool.breaker.gaugeValue),
                        connectionsOpen: queue.pool.currentStatistics.connectionsOpen,
                        workers: queue.pool.configuration.workers,
                        concurrencyLimit: queue.pool.concurrencyLimit,
                        adaptive: queue.pool.configuration.adaptiveConcurrency, upstream: queue.pool.upstreamName))
                if let counts = try? await database.pendingAndRunning(queue: queue.name) {
                    gauges.pending.record(counts.pending)
                    gauges.running.record(counts.running)
                }
            }
            try? await clock.sleep(interval)
        }
    }
}
