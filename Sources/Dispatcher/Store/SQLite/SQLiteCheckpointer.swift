import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Copies the daemon's write-ahead log back into the database from its own connection and
/// thread, so the claim/complete thread never stops for a checkpoint.
///
/// SQLite's automatic checkpoint runs inside whichever `COMMIT` finds the WAL past 1,000 pages:
/// during a drain that is the daemon's own thread, which then copies megabytes and fsyncs the
/// database while feeders and the completer wait. The daemon's connection instead sets a much
/// larger automatic threshold (a backstop only), and this checkpointer runs a PASSIVE
/// checkpoint — it never blocks writers or readers — whenever the WAL has grown past
/// `threshold` bytes, checking every `interval`. The daemon's connection cuts the WAL file back
/// to `threshold` when it restarts (`journal_size_limit`), so an idle WAL is not checkpointed
/// again and again.
final class SQLiteCheckpointer: Sendable {
    /// Checkpoint once the WAL file is at least this big (SQLite's own default is 1,000 pages,
    /// 4 MiB). A checkpoint copies each page once, however many of its versions the log holds,
    /// so a longer log coalesces the pages a drain rewrites again and again: a keyed drain
    /// writes a key-index leaf for nearly every job it finishes, and the same few hundred
    /// leaves come back in commit after commit (CHANGELOG, issue 25).
    static let threshold: Int64 = 16 << 20
    /// The daemon connection's own automatic checkpoint, in pages (64 MiB), should this one fall
    /// behind. A PASSIVE checkpoint from another connection can keep chasing a busy writer without
    /// ever finishing, and only a finished checkpoint lets the WAL start over: the writer's own
    /// checkpoint always finishes, so it is what bounds the WAL (and so the disk it takes).
    static let backstopPages = 16384
    /// How often the WAL's size is looked at.
    let interval: Duration = .milliseconds(250)

    private let thread: MultiThreadedEventLoopGroup
    private let connection: ThreadConnection
    private let walPath: String

    private init(thread: MultiThreadedEventLoopGroup, connection: ThreadConnection, walPath: String) {
        self.thread = thread
        self.connection = connection
        self.walPath = walPath
    }

    /// Opens a second connection to the database at `path` on a thread of its own.
    static func open(path: String) async throws -> SQLiteCheckpointer {
        let thread = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let connection = try await thread.next().submit {
                ThreadConnection(value: try SQLiteConnection(path: path, options: .init(synchronous: .normal)))
            }.get()
            return SQLiteCheckpointer(thread: thread, connection: connection, walPath: path + "-wal")
        } catch {
            try? await thread.shutdownGracefully()
            throw error
        }
    }

    /// Checkpoints as the WAL grows, until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            var info = stat()
            guard stat(walPath, &info) == 0, Int64(info.st_size) > Self.threshold, !Task.isCancelled else { continue }
            let connection = self.connection
            // A failure (say the disk is full) leaves the WAL to grow; the daemon's backstop and
            // the next attempt deal with it, and the daemon's own writes report real trouble.
            _ = try? await thread.next().submit {
                try connection.value.execute("PRAGMA wal_checkpoint(PASSIVE)")
            }.get()
        }
    }

    /// Closes the connection and stops the thread.
    func close() async {
        let connection = self.connection
        _ = try? await thread.next().submit { connection.value.close() }.get()
        try? await thread.shutdownGracefully()
    }
}

/// A connection used only on the checkpointer's thread.
private struct ThreadConnection: @unchecked Sendable {
    let value: SQLiteConnection
}
