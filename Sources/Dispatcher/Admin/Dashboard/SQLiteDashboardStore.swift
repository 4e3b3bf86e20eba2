import NIOCore
import NIOPosix

/// The dashboard's own SQLite connection, owned by an actor on a dedicated thread.
///
/// It is separate from the daemon's connection so that a page view never queues behind claims
/// and completions (WAL readers do not block the writer), and its blocking calls never sit on
/// the cooperative pool. Operator actions commit with `synchronous=FULL`, like the CLI's.
actor SQLiteDashboardStore: DashboardStore {
    private let thread: MultiThreadedEventLoopGroup
    private let eventLoop: any EventLoop
    private let store: JobStore

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        eventLoop.executor.asUnownedSerialExecutor()
    }

    init(path: String) throws {
        thread = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        eventLoop = thread.next()
        store = try JobStore(path: path, synchronous: .full)
    }

    func overview(now: Int64) throws -> DashboardOverview {
        // StatsReport reads its figures in one snapshot of its own; the chart and the paused
        // set are separate reads, a moment later at most.
        DashboardOverview(
            report: try StatsReport(store: store, now: now),
            lastHour: try store.finishedPerMinute(now: now, minutes: 60),
            paused: try store.pausedQueues())
    }

    func failedJobs(queue: String?, offset: Int, limit: Int) throws -> [Job] {
        try store.failedJobs(queue: queue, offset: offset, limit: limit)
    }

    func job(id: Int64) throws -> Job? {
        try store.job(id: id)
    }

    func retry(id: Int64, now: Int64) throws {
        _ = try store.retry(ids: [id], now: now)
    }

    func retryFailed(queue: String, now: Int64) throws -> Int {
        try store.retry(state: .failed, queue: queue, now: now)
    }

    func cancel(id: Int64, now: Int64) throws {
        _ = try store.cancel(ids: [id], now: now)
    }

    func setPaused(_ paused: Bool, queue: String, now: Int64) throws {
        try store.setPaused(paused, queue: queue, now: now)
    }

    /// Closes the connection and stops the thread.
    func close() {
        store.connection.close()
        let thread = self.thread
        thread.shutdownGracefully { _ in }
    }
}
