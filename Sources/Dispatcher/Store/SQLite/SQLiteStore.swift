import NIOCore
import NIOPosix

/// The SQLite store: one connection, owned by an actor that runs on a dedicated thread.
///
/// SQLite calls block (disk I/O, fsync, waiting on another process's write lock), so they must
/// not run on Swift's cooperative pool, which has only as many threads as cores (two here). The
/// actor's executor is a one-thread NIO event loop that does nothing else; everything the
/// feeders, the completer, the reaper or a command does with the database is serialized on it.
actor SQLiteStore: DaemonStore, OperatorStore, ScheduleStore {
    private let thread: MultiThreadedEventLoopGroup
    private let eventLoop: any EventLoop
    private let store: SQLiteJobStore
    /// The database file.
    nonisolated let path: String
    /// Watches the `-wal` file for the daemon's feeders; its thread starts on first use.
    nonisolated let watcher: WALWatcher
    /// The daemon's checkpoints, off this thread (nil for commands: SQLite checkpoints inline).
    private let checkpointer: SQLiteCheckpointer?
    /// Bumped on every write of this process: `PRAGMA data_version` only changes for commits
    /// of *other* connections, so the notifier also watches this to see the completer's retries.
    private var localWrites: Int64 = 0

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        eventLoop.executor.asUnownedSerialExecutor()
    }

    private init(
        thread: MultiThreadedEventLoopGroup, store: SQLiteJobStore, path: String, watcher: WALWatcher,
        checkpointer: SQLiteCheckpointer?
    ) {
        self.path = path
        self.thread = thread
        self.eventLoop = thread.next()
        self.store = store
        self.watcher = watcher
        self.checkpointer = checkpointer
    }

    /// Opens (creating and migrating) the database at `path` on a new dedicated thread.
    ///
    /// The daemon's bookkeeping commits use `synchronous=NORMAL` (a power loss can only re-run
    /// a job, never lose one); enqueue uses `FULL`, so an id printed is a job on disk. With
    /// `forDaemon`, a `SQLiteCheckpointer` keeps WAL checkpoints off this store's thread while
    /// `run()` runs.
    static func open(
        path: String, synchronous: SQLiteConnection.Synchronous = .full, pollInterval: Duration = .milliseconds(5),
        forDaemon: Bool = false
    ) async throws -> SQLiteStore {
        let thread = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let opened = try await thread.next().submit {
                let store = try SQLiteJobStore(path: path, synchronous: synchronous)
                if forDaemon && !store.connection.isReadOnly {
                    try store.connection.execute("PRAGMA wal_autocheckpoint=\(SQLiteCheckpointer.backstopPages)")
                    // A WAL that once grew (a burst, an enqueue of a big batch) is cut back to the
                    // checkpointer's threshold when it restarts, so the disk space is returned.
                    try store.connection.execute("PRAGMA journal_size_limit=\(SQLiteCheckpointer.threshold)")
                }
                return OwnedByThread(value: store)
            }.get()
            let checkpointer = forDaemon ? try await SQLiteCheckpointer.open(path: path) : nil
            return SQLiteStore(
                thread: thread, store: opened.value, path: path,
                watcher: WALWatcher(databasePath: path, interval: pollInterval),
                checkpointer: checkpointer)
        } catch {
            try? await thread.shutdownGracefully()
            throw error
        }
    }

    /// Closes the connection, stops the watcher and the thread.
    func close() async {
        watcher.stop()
        await checkpointer?.close()
        store.connection.close()
        // The loop is running this very code, so it is shut down from elsewhere.
        let thread = self.thread
        thread.shutdownGracefully { _ in }
    }

    // MARK: DaemonStore

    /// The daemon's WAL checkpoints (see `SQLiteCheckpointer`); otherwise this waits for
    /// cancellation, so it ends with the daemon's other tasks rather than before them.
    nonisolated func run() async {
        if let checkpointer {
            await checkpointer.run()
            return
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
    }

    func claim(
        queue: String, limit: Int, limits: ClaimLimits, owner: String, defaultTimeout: Int64, leaseMargin: Int64
    ) throws
        -> ClaimedBatch
    {
        // The mark on the same trip to this thread, before the look.
        let mark = try changeMark()
        let (jobs, heldBack) = try store.claim(
            queue: queue, limit: limit, limits: limits, owner: owner, now: WallClock.nowMilliseconds(),
            defaultTimeout: defaultTimeout,
            leaseMargin: leaseMargin)
        return ClaimedBatch(jobs: jobs, mark: mark, heldBack: heldBack)
    }

    func complete(
        _ completions: [Completion], queue: String, owner: String
    ) throws -> CompletionCounts {
        localWrites += 1
        return try store.complete(
            completions, queue: queue, owner: owner, now: WallClock.nowMilliseconds())
    }

    func reapExpiredLeases() throws -> Int {
        let count = try store.reapExpiredLeases(now: WallClock.nowMilliseconds())
        if count > 0 { localWrites += 1 }
        return count
    }

    func renewLeases(owner: String, ids: [Int64], defaultTimeout: Int64, leaseMargin: Int64) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try store.renewLeases(
            owner: owner, ids: ids, now: WallClock.nowMilliseconds(), defaultTimeout: defaultTimeout,
            leaseMargin: leaseMargin)
    }

    func nextDue(queue: String) throws -> Duration? {
        try store.nextRunAt(queue: queue).map { .milliseconds(max(0, $0 - WallClock.nowMilliseconds())) }
    }

    func unfinishedCount(queue: String) throws -> Int64 {
        try store.unfinishedCount(queue: queue)
    }

    func pendingAndRunning(queue: String) throws -> (pending: Int64, running: Int64) {
        try store.pendingAndRunning(queue: queue)
    }

    func acquireMaintenanceLease(name: String, owner: String, ttl: Int64) throws -> Bool {
        try store.acquireMaintenanceLease(name: name, owner: owner, ttl: ttl, now: WallClock.nowMilliseconds())
    }

    func releaseMaintenanceLease(name: String, owner: String) throws {
        try store.releaseMaintenanceLease(name: name, owner: owner)
    }

    func renewSlots(_ renewal: SlotRenewal) throws -> Int? {
        try store.renewSlots(renewal, now: WallClock.nowMilliseconds())
    }

    func releaseSlots(queue: String, owner: String) throws {
        try store.releaseSlots(queue: queue, owner: owner)
    }

    func queueSlots() throws -> [QueueSlotRow] {
        let now = WallClock.nowMilliseconds()
        return try store.slotRows(queue: nil).filter { $0.expiresAt >= now }
    }

    func queues(withJobsIn state: JobState) throws -> [String] {
        try store.queues(withJobsIn: state)
    }

    func prune(queue: String, state: JobState, olderThan age: Int64, limit: Int) throws -> Int {
        try store.prune(
            queue: queue, state: state, finishedBefore: WallClock.nowMilliseconds() - age, limit: limit)
    }

    nonisolated var changes: any ChangeNotifier { SQLiteChangeNotifier(store: self) }

    nonisolated var guardedFile: String? { path }

    /// A value that changes whenever anyone, this process included, commits.
    func changeCounter() throws -> Int64 {
        try store.dataVersion() &+ localWrites
    }

    /// "Now" for `SQLiteChangeNotifier`: the watcher's generation and the change counter.
    func changeMark() throws -> ChangeMark {
        watcher.startIfNeeded()
        return ChangeMark(generation: watcher.broadcast.generation, detail: try changeCounter())
    }

    // MARK: OperatorStore

    func enqueue(_ jobs: [NewJob], now: Int64) throws -> [EnqueueResult] {
        localWrites += 1
        return try store.enqueue(jobs, now: now)
    }

    func job(id: Int64) throws -> Job? {
        try store.job(id: id)
    }

    func list(state: JobStateFilter?, queue: String?, limit: Int) throws -> [Job] {
        try store.list(state: state, queue: queue, limit: limit)
    }

    func statistics(now: Int64) throws -> StoreStatistics {
        try store.connection.readTransaction {
            StoreStatistics(
                queues: try store.stats(now: now), activity: try store.activity(now: now),
                paused: try store.pausedQueues())
        }
    }

    func recentFailures(limit: Int) throws -> [RecentFailure] {
        try store.recentFailures(limit: limit)
    }

    func retry(ids: [Int64], now: Int64) throws -> Int {
        localWrites += 1
        return try store.retry(ids: ids, now: now)
    }

    func retry(state: JobState, queue: String?, now: Int64) throws -> Int {
        localWrites += 1
        return try store.retry(state: state, queue: queue, now: now)
    }

    func cancel(ids: [Int64], now: Int64) throws -> Int {
        try store.cancel(ids: ids, now: now)
    }

    func purge(state: JobState, finishedBefore before: Int64) throws -> Int {
        try store.purge(state: state, finishedBefore: before)
    }

    func failedJobs(queue: String?, offset: Int, limit: Int) throws -> [Job] {
        try store.failedJobs(queue: queue, offset: offset, limit: limit)
    }

    func finishedPerMinute(now: Int64, minutes: Int) throws -> [String: [Int64]] {
        try store.finishedPerMinute(now: now, minutes: minutes)
    }

    func setPaused(_ paused: Bool, queue: String, now: Int64) throws -> Bool {
        localWrites += 1
        return try store.setPaused(paused, queue: queue, now: now)
    }

    func schedules() throws -> [ScheduleRecord] {
        try store.schedules()
    }

    // MARK: ScheduleStore

    func register(_ schedules: [ScheduleDefinition]) throws -> Int64 {
        let now = WallClock.nowMilliseconds()
        try store.register(schedules, now: now)
        return now
    }

    func fireSchedules(
        _ names: [String], plan: @escaping @Sendable (_ now: Int64, _ coveredUntil: [String: Int64]) -> [ScheduleFiring]
    ) throws -> (now: Int64, fired: [ScheduleFired]) {
        let now = WallClock.nowMilliseconds()
        let fired = try store.fireSchedules(names, now: now, plan: plan)
        // The feeders of this process learn of the new jobs from this count.
        if fired.contains(where: { $0.results.contains(where: \.created) }) { localWrites += 1 }
        return (now, fired)
    }
}

/// Carries the connection from the thread that opened it to the actor that owns it from then on.
private struct OwnedByThread: @unchecked Sendable {
    let value: SQLiteJobStore
}
