import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Notices commits to the database by watching its write-ahead log file from a small thread.
///
/// Every commit in WAL mode writes to `<db>-wal`, so its size, modification time or inode
/// changes. The watcher `stat`s it every poll interval on a plain thread — about a microsecond
/// of work and a cheap `nanosleep` — and signals `changes` when it changed (and every
/// `safetyPolls` polls regardless). Idle feeders — all of a daemon's queues share one watcher —
/// await that signal instead of waking a Swift task and the database thread 200 times a second.
final class WALWatcher: Sendable {
    let path: String
    let interval: Duration
    let safetyPolls = 50
    /// Signalled after the WAL file changed.
    let broadcast = ChangeBroadcast()
    private let started = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)

    init(databasePath: String, interval: Duration) {
        path = databasePath + "-wal"
        self.interval = interval
    }

    /// Starts the watching thread unless it runs already; it runs until `stop()`.
    func startIfNeeded() {
        guard !started.exchange(true, ordering: .relaxed), !stopped.load(ordering: .relaxed) else { return }
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self)
        pthread_create(
            &thread, nil,
            { argument in
                let watcher = Unmanaged<WALWatcher>.fromOpaque(argument!).takeRetainedValue()
                watcher.watch()
                return nil
            }, box.toOpaque())
        pthread_detach(thread)
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        broadcast.signal()
    }

    private func watch() {
        var last = stamp()
        var polls = 0
        var echoes = 0
        let (seconds, attoseconds) = interval.components
        var pause = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        while !stopped.load(ordering: .relaxed) {
            nanosleep(&pause, nil)
            polls += 1
            let current = stamp()
            if current != last {
                last = current
                // A writer appends its frames before it publishes the commit in the WAL
                // index, so the change may not be visible yet: signal again on the next polls.
                echoes = 3
            }
            if echoes > 0 || polls % safetyPolls == 0 {
                echoes = max(0, echoes - 1)
                broadcast.signal()
            }
        }
    }

    struct Stamp: Equatable {
        var size: Int64 = -1
        var seconds: Int = 0
        var nanoseconds: Int = 0
        var inode: UInt64 = 0
    }

    /// The file's current stamp (all -1/0 when it does not exist).
    func stamp() -> Stamp {
        var info = stat()
        guard stat(path, &info) == 0 else { return Stamp() }
        return Stamp(
            size: Int64(info.st_size), seconds: Int(info.st_mtim.tv_sec), nanoseconds: Int(info.st_mtim.tv_nsec),
            inode: UInt64(info.st_ino))
    }
}
