import Logging
import Synchronization
import WorkerPool

/// Turns job outcomes into database writes, batched: one transaction per flush, on a count or
/// after a few milliseconds, so tens of thousands of completions a second cost a few hundred
/// commits.
final class Completer: Sendable {
    /// Flush at once when this many outcomes are waiting.
    let maximumBatch = 512
    /// Otherwise wait this long for more to gather. Every commit has a cost of its own (WAL
    /// pages, file locks, a hop to the store's thread), so one transaction per window (see
    /// `run`) beats writing on while outcomes keep arriving, which chases each batch with ever
    /// smaller commits (CHANGELOG has the commit counts measured). Outcomes become visible that
    /// much later; the calls are not held up.
    let flushWindow: Duration = .milliseconds(5)

    let database: any DaemonStore
    /// The jobs claimed and not yet written back; the feeders add, this removes.
    let held = HeldJobs()
    let owner: String
    let queues: [String: QueueConfiguration]
    let logger: Logger
    let metrics: DaemonMetrics
    let clock: DaemonClock
    /// Where failed writes are reported (one error line per outage, not one per retry).
    let storeHealth: StoreHealth

    private struct State {
        var waiting: [(completion: Completion, queue: String)] = []
        var signal: AsyncStream<Void>.Continuation?
        var finished = false
    }

    private let state = Mutex(State())
    private let signals: AsyncStream<Void>

    init(
        database: any DaemonStore, owner: String, queues: [QueueConfiguration], logger: Logger, metrics: DaemonMetrics,
        clock: DaemonClock, storeHealth: StoreHealth
    ) {
        self.clock = clock
        self.storeHealth = storeHealth
        self.database = database
        self.owner = owner
        self.queues = Dictionary(queues.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.logger = logger
        self.metrics = metrics
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        signals = stream
        state.withLock { $0.signal = continuation }
    }

    /// Queues the outcome of a call for writing. Called by the workers; never blocks on I/O.
    func record(_ outcome: JobOutcome, queue: String) {
        let completion = completion(for: outcome, queue: queue)
        if case .succeeded = outcome.outcome {
            logger.debug(
                "job succeeded",
                metadata: ["job.id": "\(outcome.job.id)", "queue": "\(queue)", "attempt": "\(outcome.job.attempt)"])
        } else if case .failed(let failure) = outcome.outcome {
            logger.log(
                level: failure.isRetryable ? .info : .warning, "call failed",
                metadata: [
                    "job.id": "\(outcome.job.id)", "queue": "\(queue)", "attempt": "\(outcome.job.attempt)",
                    "error": "\(failure.message)",
                ])
        }
        add(completion, queue: queue)
    }

    /// Queues a release of a job that was claimed but never handed to a worker.
    func release(jobID: Int64, queue: String, reason: String) {
        add(.released(id: jobID, runAt: clock.wallMilliseconds(), reason: reason), queue: queue)
    }

    private func add(_ completion: Completion, queue: String) {
        let signal = state.withLock { state -> AsyncStream<Void>.Continuation? in
            state.waiting.append((completion, queue))
            return state.waiting.count == 1 || state.waiting.count >= maximumBatch ? state.signal : nil
        }
        signal?.yield()
    }

    /// Outcomes not yet written.
    var backlog: Int { state.withLock { $0.waiting.count } }

    /// Maps a call outcome to the row update the design prescribes: `JobLife` decides, this
    /// only applies the storage cap on results.
    func completion(for result: JobOutcome, queue: String) -> Completion {
        let configuration = queues[queue]
        let life = configuration?.jobLife ?? JobLife()
        var generator = SystemRandomNumberGenerator()
        let decision = life.decide(
            result.outcome, attempt: result.job.attempt, maxAttempts: result.job.maxAttempts,
            now: clock.wallMilliseconds(), using: &generator)
        let id = result.job.id
        switch decision {
        case .succeeded(let bytes):
            let cap = configuration?.maximumStoredResultBytes ?? Int.max
            if bytes.count > cap {
                return .succeeded(id: id, result: nil, note: "result of \(bytes.count) bytes not stored (limit \(cap))")
            }
            return .succeeded(id: id, result: bytes, note: nil)
        case .retry(let runAt, let error):
            return .retry(id: id, error: error, runAt: runAt)
        case .failed(let error):
            return .failed(id: id, error: error)
        case .released(let runAt, let reason):
            return .released(id: id, runAt: runAt, reason: reason)
        }
    }

    /// Writes batches until `finish()` is called and everything queued is written.
    ///
    /// One transaction per window: outcomes that arrive while a batch is being written wait for
    /// the next window (the first of them signalled already) instead of being written at once.
    /// Writing them at once chased the tail of every batch with ever smaller transactions, and a
    /// commit writes about as many WAL pages for 16 outcomes as for 64.
    func run() async {
        for await _ in signals {
            var leftBehind = true
            while leftBehind {
                if backlog < maximumBatch {
                    try? await clock.sleep(flushWindow)
                }
                leftBehind = await writeNextBatch()
            }
            if state.withLock({ $0.finished && $0.waiting.isEmpty }) { break }
        }
        await flush()
    }

    /// Writes everything waiting, then ends `run()`.
    func finish() {
        let signal = state.withLock { state -> AsyncStream<Void>.Continuation? in
            state.finished = true
            return state.signal
        }
        signal?.yield()
        signal?.finish()
    }

    /// Writes everything waiting, batch after batch.
    func flush() async {
        while backlog > 0 { _ = await writeNextBatch() }
    }

    /// Writes up to `maximumBatch * 4` waiting outcomes in one transaction per queue.
    ///
    /// - Returns: whether outcomes were left waiting when the batch was taken (the cap): those
    ///   raised no signal of their own.
    private func writeNextBatch() async -> Bool {
        let (batch, leftBehind) = state.withLock { state in
            let count = min(state.waiting.count, maximumBatch * 4)
            let batch = Array(state.waiting.prefix(count))
            state.waiting.removeFirst(count)
            return (batch, !state.waiting.isEmpty)
        }
        if !batch.isEmpty { await write(batch) }
        return leftBehind
    }

    private func write(_ batch: [(completion: Completion, queue: String)]) async {
        // One transaction per queue: the store counts the jobs moved per queue (usually one
        // queue, one transaction).
        var byQueue = [String: [Completion]]()
        for item in batch { byQueue[item.queue, default: []].append(item.completion) }
        for (queue, completions) in byQueue {
            var attempt = 0
            while true {
                let began = storeHealth.begin()
                do {
                    let counts = try await database.complete(completions, queue: queue, owner: owner)
                    storeHealth.succeeded(.complete, wrote: counts.stale < completions.count)
                    held.remove(completions.lazy.map(\.id))
                    metrics.recordCompletions(counts, queue: queue)
                    if counts.stale > 0 {
                        logger.notice(
                            "completions for jobs no longer leased to this daemon were ignored",
                            metadata: ["count": "\(counts.stale)", "queue": "\(queue)"])
                    }
                    break
                } catch {
                    // The outcomes must not be lost while the daemon lives: retry the write.
                    // Once shutting down, give up after a while rather than hang the exit: the
                    // jobs stay leased, their leases expire, and they run again (at-least-once).
                    attempt += 1
                    if attempt > 30 && state.withLock({ $0.finished }) {
                        logger.error(
                            "giving up writing outcomes at shutdown; the jobs will run again after their leases expire",
                            metadata: ["error": "\(error)", "count": "\(completions.count)"])
                        break
                    }
                    storeHealth.failed(.complete, error: error, began: began)
                    try? await clock.sleep(.milliseconds(min(1000, 10 * attempt * attempt)))
                }
            }
        }
    }
}
