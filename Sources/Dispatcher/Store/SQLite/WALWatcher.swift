import Synchronization
import WorkerPool

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Notices commits to the database by watching its write-ahead log file from a small thread.
///
/// Every commit in WAL mode writes to `<db>-wal`. On Linux the watcher sleeps in `poll` on an
/// inotify descriptor and wakes when the file is written (or created again after a checkpoint
/// removed it): an idle daemon costs no CPU between commits, and a commit wakes it at once.
/// Where inotify is unavailable it falls back to `stat`ing the file every poll interval and
/// comparing size, modification time and inode.
///
/// Either way it signals `changes` after a change, and again a few times shortly after: a
/// writer appends its frames before it publishes the commit in the WAL index (and an enqueue
/// fsyncs in between), so the first wake-up may come before the commit is visible. It also
/// signals every `safetyInterval` regardless, in case a change went unseen. Idle feeders — all
/// of a daemon's queues share one watcher — await that signal instead of polling the database.
final class WALWatcher: Sendable {
    let path: String
    /// The fallback's polling interval.
    let interval: Duration
    /// Signals this often even when nothing was seen.
    let safetyInterval: Duration
    /// When to signal again after a change, counted from the change: dense at first (an
    /// enqueue's commit becomes visible after its fsync, typically within a few milliseconds),
    /// then sparse.
    static let echoes: [Duration] = [1, 2, 3, 4, 5, 6, 8, 10, 15, 25, 50].map { .milliseconds($0) }
    /// The inotify watcher wakes at most this often.
    static let minimumGap: Duration = .milliseconds(1)
    /// Signalled after the WAL file changed.
    let broadcast = ChangeBroadcast()
    private let started = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)

    init(databasePath: String, interval: Duration, safetyInterval: Duration = .seconds(1)) {
        path = databasePath + "-wal"
        self.interval = interval
        self.safetyInterval = safetyInterval
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

    /// Stops the thread (within `safetyInterval` when it sleeps on inotify).
    func stop() {
        stopped.store(true, ordering: .relaxed)
        broadcast.signal()
    }

    private func watch() {
        #if os(Linux)
            if let events = INotifyWAL(walPath: path) {
                watch(events)
                return
            }
        #endif
        poll()
    }

    #if os(Linux)
        /// Sleeps on inotify until the WAL file changes; signals, then echoes.
        ///
        /// It wakes at most once a millisecond: a busy daemon's own commits write the file
        /// thousands of times a second, and waking for each write would cost more than the
        /// polling this replaces. Writes meanwhile queue up (inotify merges repeats) and are read
        /// on the next wake-up.
        private func watch(_ events: INotifyWAL) {
            defer { events.close() }
            let clock = ContinuousClock()
            // The last change, and how many of its echoes were signalled.
            var changed = clock.now
            var echoed = Self.echoes.count
            var lastSignal = changed
            while !stopped.load(ordering: .relaxed) {
                let earliest = lastSignal + Self.minimumGap
                if earliest > clock.now {
                    let (seconds, attoseconds) = (earliest - clock.now).components
                    var pause = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
                    nanosleep(&pause, nil)
                }
                var deadline = lastSignal + safetyInterval
                if echoed < Self.echoes.count { deadline = min(deadline, changed + Self.echoes[echoed]) }
                let now = clock.now
                let timeout = deadline > now ? (deadline - now).wholeMilliseconds : 0
                let sawChange = events.wait(timeoutMilliseconds: Int32(clamping: timeout))
                let woke = clock.now
                if sawChange {
                    changed = woke
                    echoed = 0
                } else if echoed < Self.echoes.count, changed + Self.echoes[echoed] <= woke {
                    while echoed < Self.echoes.count, changed + Self.echoes[echoed] <= woke { echoed += 1 }
                } else if woke < lastSignal + safetyInterval {
                    continue
                }
                lastSignal = woke
                broadcast.signal()
            }
        }
    #endif

    /// The fallback: `stat` every `interval`.
    private func poll() {
        var last = stamp()
        var polls = 0
        var echoes = 0
        let safetyPolls = max(1, Int(safetyInterval.wholeMilliseconds / max(1, interval.wholeMilliseconds)))
        let (seconds, attoseconds) = interval.components
        var pause = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        while !stopped.load(ordering: .relaxed) {
            nanosleep(&pause, nil)
            polls += 1
            let current = stamp()
            if current != last {
                last = current
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

#if os(Linux)
    /// inotify watches for one WAL file: the file itself for writes, and its directory for the
    /// file's (re)creation, since a checkpoint-on-close or `VACUUM` may delete it.
    struct INotifyWAL {
        private let descriptor: Int32
        /// Where events are read to: allocated once, since a busy daemon's own commits wake the
        /// watcher hundreds of times a second.
        private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        private let directoryWatch: Int32
        private let walPath: String
        private let walName: String

        init?(walPath: String) {
            let descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
            guard descriptor >= 0 else {
                buffer.deallocate()
                return nil
            }
            let slash = walPath.lastIndex(of: "/")
            let directory = slash.map { walPath[..<$0].isEmpty ? "/" : String(walPath[..<$0]) } ?? "."
            walName = slash.map { String(walPath[walPath.index(after: $0)...]) } ?? walPath
            // Only creations and renames in the directory: writes to other files there are
            // not our business and must not wake us.
            directoryWatch = inotify_add_watch(descriptor, directory, UInt32(IN_CREATE | IN_MOVED_TO))
            guard directoryWatch >= 0 else {
                Glibc.close(descriptor)
                buffer.deallocate()
                return nil
            }
            self.descriptor = descriptor
            self.walPath = walPath
            // The file may not exist yet: then its creation in the directory adds this watch.
            _ = watchFile()
        }

        private func watchFile() -> Int32 {
            // IN_CLOSE_WRITE: a command that enqueued closes the file right after its commit
            // became visible, the most precise wake-up a single enqueue gives.
            inotify_add_watch(
                descriptor, walPath, UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF))
        }

        /// Waits up to `timeoutMilliseconds` for a change of the WAL file; true when one came.
        func wait(timeoutMilliseconds: Int32) -> Bool {
            var descriptors = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&descriptors, 1, timeoutMilliseconds) > 0 else { return false }
            return readPending()
        }

        /// Reads the queued events without waiting; true when one concerned the WAL file.
        func readPending() -> Bool {
            var changed = false
            while true {
                let count = read(descriptor, buffer.baseAddress, buffer.count)
                guard count > 0 else { break }
                do {
                    let bytes = UnsafeRawBufferPointer(buffer)
                    var offset = 0
                    let header = MemoryLayout<inotify_event>.size
                    while offset + header <= count {
                        let watch = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                        let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                        if watch == directoryWatch {
                            let nameBytes = bytes[(offset + header)..<min(count, offset + header + length)]
                            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                            if name == walName {
                                // Re-added watches on a path return the same descriptor.
                                _ = watchFile()
                                changed = true
                            }
                        } else {
                            // A write, or the file going away (the next creation re-watches it).
                            changed = true
                        }
                        offset += header + length
                    }
                }
            }
            return changed
        }

        func close() {
            Glibc.close(descriptor)
            buffer.deallocate()
        }
    }
#endif
