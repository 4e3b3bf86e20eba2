import Logging
import ServiceLifecycle

extension WorkerPool {
    /// One worker: connect, take jobs one at a time, reconnect when the connection breaks.
    func runWorker(_ index: Int) async {
        var logger = logger
        logger[metadataKey: "worker"] = "\(index)"
        var failedConnects = 0
        while !Task.isCancelled {
            // No reconnect just to find the channel finished and drained.
            if failedConnects == 0, channel.isFinished, channel.count == 0 { return }
            do {
                let stop = try await transport.withConnection { connection in
                    connectionOpened(afterFailures: failedConnects, logger: logger)
                    failedConnects = 0
                    defer { statistics.withLock { $0.connectionsOpen -= 1 } }
                    defer { metrics.connectionsOpen.decrement() }
                    while true {
                        // nil: finished and drained, closed at shutdown, or cancelled.
                        guard let job = try? await channel.receive() else { return true }
                        await process(job, on: &connection, logger: logger)
                        if !connection.isReusable { return false }
                    }
                }
                if stop { return }
            } catch {
                failedConnects += 1
                connectFailed(error, attempt: failedConnects, logger: logger)
                // Sleep before the next attempt; graceful shutdown cuts the sleep short.
                let delay = configuration.reconnectBackoff.delay(retry: failedConnects)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                if channel.isFinished && channel.count == 0 { return }
            }
        }
    }

    private func connectionOpened(afterFailures failures: Int, logger: Logger) {
        statistics.withLock {
            $0.connectionsOpened += 1
            $0.connectionsOpen += 1
        }
        metrics.connectionsOpened.increment()
        metrics.connectionsOpen.increment()
        if failures > 0 {
            logger.notice("upstream reachable again", metadata: ["failed_connects": "\(failures)"])
        } else {
            logger.debug("upstream connection opened")
        }
    }

    private func connectFailed(_ error: any Error, attempt: Int, logger: Logger) {
        statistics.withLock { $0.connectFailures += 1 }
        // A refused connect says the upstream is unhealthy, as a failed call does.
        let transition = breaker.withLock { $0.recordFailure(permit: .allowed, now: .now) }
        report(transition)
        if attempt == 1 {
            logger.warning("upstream unreachable", metadata: ["error": "\(error)", "upstream": "\(transport.name)"])
        } else {
            logger.debug("reconnect failed", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
        }
    }

    /// Makes the call for `job` unless the breaker forbids it, and reports the outcome.
    func process(_ job: RPCJob, on connection: inout Transport.Connection, logger: Logger) async {
        let start = ContinuousClock.now
        let (permit, transition) = breaker.withLock { $0.acquire(now: start) }
        report(transition)
        if case .rejected(let retryAt) = permit {
            let outcome = CallOutcome.notAttempted(
                .init(reason: "circuit breaker open", retryAfter: max(.zero, retryAt - start)))
            metrics.record(outcome, latency: .zero)
            await onOutcome(JobOutcome(job: job, outcome: outcome, latency: .zero))
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

        let cancelled = Task.isCancelled
        let verdict = breaker.withLock { breaker -> CircuitBreaker<ContinuousClock.Instant>.Transition? in
            switch outcome {
            case .failed(let failure) where failure.countsForBreaker:
                // A call cut short by our own shutdown says nothing about the upstream.
                if cancelled {
                    breaker.releaseProbe(permit: permit)
                    return nil
                }
                return breaker.recordFailure(permit: permit, now: .now)
            default:
                return breaker.recordSuccess(permit: permit)
            }
        }
        report(verdict)
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

    private func report(_ transition: CircuitBreaker<ContinuousClock.Instant>.Transition?) {
        guard let transition else { return }
        let gauge = breaker.withLock { $0.gaugeValue }
        metrics.breakerState.record(gauge)
        switch transition {
        case .opened:
            logger.warning(
                "circuit breaker opened",
                metadata: [
                    "upstream": "\(transport.name)",
                    "cool_down": "\(configuration.breaker.coolDown)",
                ])
        case .halfOpened:
            logger.info("circuit breaker half-open: probing upstream")
        case .closed:
            logger.notice("circuit breaker closed: upstream healthy")
        }
    }
}
