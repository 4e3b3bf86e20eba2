import Logging
import ServiceLifecycle
import WorkerPool

/// Claims due jobs of one queue in batches and hands them to the queue's worker pool.
///
/// It never holds more than one batch beyond what the channel buffers: it claims at most the
/// channel's capacity at a time and `submit` suspends while the channel is full. When nothing is
/// due it sleeps, waking when its `WALWatcher` sees a commit that `PRAGMA data_version` (or this
/// daemon's own write counter) confirms, or when the earliest scheduled `run_at` arrives.
struct Feeder: Sendable {
    let queue: QueueConfiguration
    let pool: any QueuePool
    let database: DaemonDatabase
    let completer: Completer
    let configuration: DaemonConfiguration
    let metrics: DaemonMetrics
    let logger: Logger

    /// Feeds the pool until graceful shutdown, or, with `exitWhenIdle`, until the queue has no
    /// pending or running job (then it finishes the pool). At shutdown the pool itself hands back
    /// what it buffers; finishing it here instead would make the workers run those jobs.
    func run() async {
        let batchSize = pool.configuration.effectiveChannelCapacity
        let defaultTimeout = queue.timeout.milliseconds
        let leaseMargin = configuration.leaseMargin.milliseconds
        let watcher = WALWatcher(databasePath: configuration.databasePath, interval: configuration.pollInterval)
        watcher.start()
        defer { watcher.stop() }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard let limit = await admittedBatch(batchSize) else { continue }
            let jobs: [ClaimedJob]
            do {
                jobs = try await database.claim(
                    queue: queue.name, limit: limit, owner: configuration.owner, defaultTimeout: defaultTimeout,
                    leaseMargin: leaseMargin)
            } catch {
                logger.error("claiming jobs failed", metadata: ["error": "\(error)"])
                await sleep(.milliseconds(200))
                continue
            }
            if jobs.isEmpty {
                if configuration.exitWhenIdle, await isIdle() {
                    logger.info("queue is idle; finishing")
                    pool.finish()
                    return
                }
                await waitForWork(watcher)
                continue
            }
            metrics.recordClaimed(jobs, queue: queue.name, now: configuration.clock.wallMilliseconds())
            for (index, job) in jobs.enumerated() {
                do {
                    try await pool.submit(
                        RPCJob(
                            id: job.id, method: job.method, params: job.params, idempotencyKey: job.idempotencyKey,
                            timeout: .milliseconds(job.timeoutMilliseconds), attempt: job.attempt,
                            maxAttempts: job.maxAttempts))
                } catch {
                    // The pool is shutting down: this job and the rest of the batch go back.
                    for unsent in jobs[index...] {
                        completer.release(jobID: unsent.id, queue: queue.name, reason: "dispatcher shutting down")
                    }
                    return
                }
            }
        }
    }

    /// How many jobs the upstream's breaker lets this feeder claim now, or nil after waiting
    /// for it: nothing while it is open (no claim-and-release churn during an outage), then one
    /// job as the probe once the cool-down is over and the jobs handed over earlier are gone.
    private func admittedBatch(_ batchSize: Int) async -> Int? {
        let now = configuration.clock.monotonic()
        switch pool.breaker.admission(now: now) {
        case .unrestricted:
            return batchSize
        case .probe:
            guard pool.bufferedCount == 0 else {
                await sleep(.milliseconds(50))
                return nil
            }
            return 1
        case .wait(let until):
            logger.debug("upstream breaker open; not claiming", metadata: ["for": "\(until - now)"])
            await sleep(until - now)
            return nil
        }
    }

    /// With `--exit-when-idle`: nothing of this queue is pending or running anywhere, and this
    /// daemon has no call or write outstanding for it.
    private func isIdle() async -> Bool {
        guard pool.bufferedCount == 0, pool.currentStatistics.callsInFlight == 0, completer.backlog == 0 else {
            return false
        }
        return ((try? await database.unfinishedCount(queue: queue.name)) ?? 1) == 0
    }

    /// Sleeps until something changed in the database or the next scheduled job is due.
    ///
    /// The WAL watcher's thread notices commits by any process; only then does the feeder ask
    /// the database whether anything was committed (`PRAGMA data_version`, plus this daemon's
    /// own write counter). An idle daemon therefore costs a `stat` per poll interval.
    private func waitForWork(_ watcher: WALWatcher) async {
        guard let stamp = try? await database.changeStamp() else {
            await sleep(configuration.pollInterval)
            return
        }
        let nextRunAt = (try? await database.nextRunAt(queue: queue.name)) ?? nil
        var timeout: Duration? = nextRunAt.map { .milliseconds(max(0, $0 - configuration.clock.wallMilliseconds())) }
        if configuration.exitWhenIdle {
            // Recheck idleness now and then: the last outcomes land after the last claim.
            timeout = min(timeout ?? .milliseconds(100), .milliseconds(100))
        }
        let database = self.database
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while (try? await watcher.changes.receive()) != nil {
                    if let changed = try? await database.changeStamp(), changed != stamp { return }
                }
            }
            if let timeout {
                group.addTask { try? await Task.sleep(for: timeout) }
            }
            group.addTask { try? await gracefulShutdown() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Sleeps, cut short by graceful shutdown (used after errors, when the loop backs off).
    private func sleep(_ duration: Duration) async {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }
}
