import Logging
import ServiceLifecycle

extension WorkerPool {
    /// One worker: connect, take jobs one at a time, reconnect when the connection breaks.
    ///
    /// Connecting asks the upstream's breaker first: while it is open the worker waits for the
    /// probe time, and a connect made as the probe closes or reopens it. A failed connect (a
    /// refused TCP connect or a failed TLS handshake) counts for the breaker and never touches
    /// a job.
    func runWorker(_ index: Int) async {
        var logger = logger
        logger[metadataKey: "worker"] = "\(index)"
        var failedConnects = 0
        while !Task.isCancelled {
            // No reconnect just to find the channel finished and drained.
            if channel.isFinished, channel.count == 0 { return }
            let permit = breaker.acquire(now: .now)
            if case .rejected(let retryAt) = permit {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(until: retryAt, clock: .continuous) }
                if Task.isShuttingDownGracefully, channel.count == 0 { return }
                continue
            }
            do {
                let stop = try await transport.withConnection { connection in
                    connectionOpened(afterFailures: failedConnects, permit: permit, logger: logger)
                    failedConnects = 0
                    defer { statistics.withLock { $0.connectionsOpen -= 1 } }
                    defer { metrics.connectionsOpen.decrement() }
                    while true {
                        // nil: finished and drained, closed at shutdown, or cancelled.
                        guard let job = try? await channel.receive() else { return true }
                        await process(job, on: &connection, logger: logger)
                        if let rejection = connection.rejection { throw ConnectionRejected(cause: rejection) }
                        if !connection.isReusable { return false }
                    }
                }
                if stop { return }
            } catch {
                failedConnects += 1
                connectFailed(error, permit: permit, attempt: failedConnects)
                // Sleep before the next attempt; graceful shutdown cuts the sleep short.
                let delay = configuration.reconnectBackoff.delay(retry: failedConnects)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                if channel.isFinished && channel.count == 0 { return }
            }
        }
    }

    private func connectionOpened(afterFailures failures: Int, permit: UpstreamBreaker.Breaker.Permit, logger: Logger) {
        statistics.withLock {
            $0.connectionsOpened += 1
            $0.connectionsOpen += 1
        }
        metrics.connectionsOpened.increment()
        metrics.connectionsOpen.increment()
        breaker.connectSucceeded(permit: permit, failedAttempts: failures)
        logger.debug("upstream connection opened")
    }

    private func connectFailed(_ error: any Error, permit: UpstreamBreaker.Breaker.Permit, attempt: Int) {
        statistics.withLock { $0.connectFailures += 1 }
        // A refused connect says the upstream is unhealthy, as a failed call does; the breaker
        // keeps one warning per outage.
        breaker.connectFailed(permit: permit, now: .now, cause: "\(error)")
    }

    /// Makes the call for `job` unless it cannot be framed (`RPCJob.framingProblem`: it fails
    /// unsent), the breaker forbids it, or shutdown comes first while it waits for a rate-limit
    /// token, and reports the outcome.
    nonisolated(nonsending) func process(
        _ job: RPCJob, on connection: inout Transport.Connection, logger: Logger
    ) async {
        // A row no transport may frame fails here, unsent, whatever wrote it; the upstream's
        // health has nothing to do with it.
        if let problem = job.framingProblem {
            let outcome = CallOutcome.failed(CallFailure(isRetryable: false, message: problem, countsForBreaker: false))
            metrics.record(outcome, latency: .zero)
            logger.warning("job not sent", metadata: ["job.id": "\(job.id)", "error": "\(problem)"])
            await onOutcome(JobOutcome(job: job, outcome: outcome, latency: .zero))
            return
        }
        if let rateLimiter {
            // Waiting for a token is not an attempt: at shutdown the job goes back untouched.
            do {
                try await cancelWhenGracefulShutdown { try await rateLimiter.acquire() }
            } catch {
                await handBack(job, reason: "dispatcher shutting down")
                return
            }
        }
        var slot: ConcurrencyGate.Slot?
        if let concurrencyGate {
            // After the token: a slot is held only by a call about to be written. A free slot is
            // taken on this thread; only a wait pays for the shutdown watch (two child tasks).
            slot = concurrencyGate.tryAcquire()
            if slot == nil {
                do {
                    slot = try await cancelWhenGracefulShutdown { try await concurrencyGate.acquire() }
                } catch {
                    await handBack(job, reason: "dispatcher shutting down")
                    return
                }
            }
        }
        let start = ContinuousClock.now
        let permit = breaker.acquire(now: start)
        if case .rejected(let retryAt) = permit {
            if let slot { concurrencyGate?.release(slot, latency: .zero, signal: .ignored) }
            await handBack(job, reason: "circuit breaker open", retryAfter: max(.zero, retryAt - start))
            return
        }

        statistics.withLock {
            $0.callsInFlight += 1
            $0.calls += 1
            $0.peakCallsInFlight = max($0.peakCallsInFlight, $0.callsInFlight)
        }
        metrics.inFlight.increment()
        let outcome = await connection.call(job)
        metrics.inFlight.decrement()
        statistics.withLock { $0.callsInFlight -= 1 }
        let latency = ContinuousClock.now - start

        let signal: ConcurrencyGate.Signal
        switch outcome {
        case .failed(let failure) where failure.countsForBreaker:
            // A call cut short by our own shutdown says nothing about the upstream.
            if Task.isCancelled {
                breaker.releaseProbe(permit: permit)
                signal = .ignored
            } else {
                breaker.recordFailure(permit: permit, now: .now, cause: failure.message)
                signal = .overloaded
            }
        case .notAttempted:
            // The connection refused the call (the worker counts a failed connect instead).
            breaker.releaseProbe(permit: permit)
            signal = .ignored
        default:
            breaker.recordSuccess(permit: permit)
            signal = .answered
        }
        if let slot { concurrencyGate?.release(slot, latency: latency, signal: signal) }
        metrics.record(outcome, latency: latency)
        if case .failed(let failure) = outcome {
            logger.debug(
                "call failed",
                metadata: [
                    "job.id": "\(job.id)", "attempt": "\(job.attempt)", "error": "\(failure.message)",
                    "retryable": "\(failure.isRetryable)",
                ])
        }
        await onOutcome(JobOutcome(job: job, outcome: outcome, latency: latency))
    }

    nonisolated(nonsending) private func handBack(_ job: RPCJob, reason: String, retryAfter: Duration? = nil) async {
        let outcome = CallOutcome.notAttempted(.init(reason: reason, retryAfter: retryAfter))
        metrics.record(outcome, latency: .zero)
        await onOutcome(JobOutcome(job: job, outcome: outcome, latency: .zero))
    }
}

/// The upstream refused a connection that had looked open (see `UpstreamConnection.rejection`).
struct ConnectionRejected: Error, CustomStringConvertible {
    var cause: String
    var description: String { cause }
}
