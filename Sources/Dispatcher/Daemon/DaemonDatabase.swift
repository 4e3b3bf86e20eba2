import NIOCore
import NIOPosix

/// The daemon's SQLite connection, owned by an actor that runs on a dedicated thread.
///
/// SQLite calls block (disk I/O, fsync, waiting on another process's write lock), so they must
/// not run on Swift's cooperative pool, which has only as many threads as cores (two here). The
/// actor's executor is a one-thread NIO event loop that does nothing else; everything the
/// feeders, the completer and the reaper do with the database is serialized on it.
actor DaemonDatabase {
    private let thread: MultiThreadedEventLoopGroup
    private let eventLoop: any EventLoop
    private let store: JobStore
    /// Bumped on every write of this daemon: `PRAGMA data_version` only changes for commits
    /// of *other* connections, so the feeders also watch this to see the completer's retries.
    private var localWrites: Int64 = 0

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        eventLoop.executor.asUnownedSerialExecutor()
    }

    /// Opens (creating and migrating) the database; bookkeeping commits use
    /// `synchronous=NORMAL`: a power loss can only re-run a job, never lose one.
    init(path: String) throws {
        thread = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        eventLoop = thread.next()
        store = try JobStore(path: path, synchronous: .normal)
    }

    /// Closes the connection and stops the thread.
    func close() {
        store.connection.close()
        // The loop is running this very code, so it is shut down from elsewhere.
        let thread = self.thread
        thread.shutdownGracefully { _ in }
    }

    func claim(
        queue: String, limit: Int, owner: String, defaultTimeout: Int64, leaseMargin: Int64
    ) throws
        -> [ClaimedJob]
    {
        try store.claim(
            queue: queue, limit: limit, owner: owner, now: WallClock.nowMilliseconds(), defaultTimeout: defaultTimeout,
            leaseMargin: leaseMargin)
    }

    func complete(_ completions: [Completion], owner: String, defaultMaxAttempts: Int64) throws -> CompletionCounts {
        localWrites += 1
        return try store.complete(
            completions, owner: owner, now: WallClock.nowMilliseconds(), defaultMaxAttempts: defaultMaxAttempts)
    }

    func reapExpiredLeases() throws -> Int {
        let count = try store.reapExpiredLeases(now: WallClock.nowMilliseconds())
        if count > 0 { localWrites += 1 }
        return count
    }

    func renewLeases(owner: String, defaultTimeout: Int64, leaseMargin: Int64) throws -> Int {
        try store.renewLeases(
            owner: owner, now: WallClock.nowMilliseconds(), defaultTimeout: defaultTimeout, leaseMargin: leaseMargin)
    }

    func nextRunAt(queue: String) throws -> Int64? {
        try store.nextRunAt(queue: queue)
    }

    func unfinishedCount(queue: String) throws -> Int64 {
        try store.unfinishedCount(queue: queue)
    }

    func pendingAndRunning(queue: String) throws -> (pending: Int64, running: Int64) {
        try store.pendingAndRunning(queue: queue)
    }

    /// A value that changes whenever anyone, this daemon included, commits.
    func changeStamp() throws -> ChangeStamp {
        ChangeStamp(dataVersion: try store.dataVersion(), localWrites: localWrites)
    }

    struct ChangeStamp: Equatable, Sendable {
        var dataVersion: Int64
        var localWrites: Int64
    }
}
