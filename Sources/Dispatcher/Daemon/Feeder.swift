import Logging
import ServiceLifecycle
import WorkerPool

/// Claims due jobs of one queue in batches and hands them to the queue's worker pool.
///
/// It never holds more than one batch beyond what the channel buffers: it claims at most the
/// channel's capacity at a time and `submit` suspends while the channel is full. When nothing is
/// due it sleeps, waking on the store's change notifier (shared by all of the daemon's feeders)
/// or when the earliest scheduled `run_at` arrives.
struct Feeder: Sendable {
    let queue: QueueConfiguration
    let pool: any QueuePool
    let database: any DaemonStore
    let completer: Completer
    let configuration: DaemonConfiguration
    let metrics: DaemonMetrics
    /// Where failed claims are reported (one error line per outage, not one per claim).
    let storeHealth: StoreHealth
    let logger: Logger

    /// Feeds the pool until graceful shutdown, or, with `exitWhenIdle`, until the queue has no
    /// pending or running job (then it finishes the pool). At shutdown the pool itself hands back
    /// what it buffers; finishing it here instead would make the workers run those jobs.
    func run() async {
        let batchSize = pool.configuration.effectiveChannelCapacity
        let defaultTimeout = queue.timeout.wholeMilliseconds
        let leaseMargin = configuration.leaseMargin.wholeMilliseconds
        let changes = database.changes
        let limits = queue.claimLimits
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard let limit = await admittedBatch(batchSize) else { continue }
            // The claim brings the notifier's mark from before it looked, so a change between the
            // claim and the wait still wakes us.
            let claimed: ClaimedBatch
            let began = storeHealth.begin()
            do {
                claimed = try await database.claim(
                    queue: queue.name, limit: limit, limits: limits, owner: configuration.owner,
                    defaultTimeout: defaultTimeout,
                    leaseMargin: leaseMargin)
            } catch {
                storeHealth.failed(.claim, error: error, began: began)
                await sleep(.milliseconds(200))
                continue
            }
            let jobs = claimed.jobs
            storeHealth.succeeded(.claim, wrote: !jobs.isEmpty)
            if case .rate(let nextIn)? = claimed.heldBack {
                await sleep(nextIn)
                continue
            }
            if jobs.isEmpty {
                if configuration.exitWhenIdle, await isIdle() {
                    logger.info("queue is idle; finishing")
                    pool.finish()
                    return
                }
                await waitForWork(changes, after: claimed.mark)
                continue
            }
            completer.held.insert(jobs.lazy.map(\.id))
            metrics.recordClaimed(jobs, queue: queue.name, now: configuration.clock.wallMilliseconds())
            let batch = jobs.map { job in
                RPCJob(
                    id: job.id, method: job.method, params: job.params, idempotencyKey: job.idempotencyKey,
                    timeout: .milliseconds(job.timeoutMilliseconds), attempt: job.attempt, maxAttempts: job.maxAttempts)
            }
            // One hand-off for the batch: the channel takes what fits under one lock and the
            // feeder suspends only while it is full.
            let accepted = await pool.submit(contentsOf: batch)
            if accepted < batch.count {
                // The pool is shutting down: the rest of the batch goes back.
                for unsent in jobs[accepted...] {
                    completer.release(jobID: unsent.id, queue: queue.name, reason: "dispatcher shutting down")
                }
                return
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

    /// Sleeps until the store reports a change after `mark` or the next scheduled job is due.
    private func waitForWork(_ changes: any ChangeNotifier, after mark: ChangeMark) async {
        var timeout: Duration?
        do {
            timeout = try await database.nextDue(queue: queue.name)
        } catch {
            await sleep(configuration.pollInterval)
            return
        }
        if configuration.exitWhenIdle {
            // Recheck idleness now and then: the last outcomes land after the last claim.
            timeout = min(timeout ?? .milliseconds(100), .milliseconds(100))
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await changes.wait(after: mark) }
            if let timeout {
                group.addTask { try? await configuration.clock.sleep(timeout) }
            }
            group.addTask { try? await gracefulShutdown() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Sleeps, cut short by graceful shutdown (used after errors, when the loop backs off).
    private func sleep(_ duration: Duration) async {
        try? await cancelWhenGracefulShutdown { try await configuration.clock.sleep(duration) }
    }
}
