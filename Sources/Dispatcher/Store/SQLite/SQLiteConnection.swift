import CSQLite

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One connection to a SQLite database, with a cache of prepared statements.
///
/// A connection is used by one thread at a time: the CLI uses it from the main thread, the
/// daemon from an actor pinned to a dedicated thread (`DatabaseExecutor`), so blocking SQLite
/// calls never sit on Swift's cooperative pool.
final class SQLiteConnection {
    /// How the connection commits: `full` fsyncs every commit, `normal` only at WAL checkpoints.
    enum Synchronous: String {
        case full = "FULL"
        case normal = "NORMAL"
    }

    /// Options for opening a connection.
    struct Options {
        /// Durability of each commit. Enqueue uses `.full`; the daemon's bookkeeping `.normal`.
        var synchronous: Synchronous = .full
        /// How long a statement waits for another writer before failing with SQLITE_BUSY.
        var busyTimeoutMilliseconds: Int32 = 10_000
        /// Create the file when it does not exist.
        var create = true
    }

    private(set) var handle: OpaquePointer?
    let path: String
    let isReadOnly: Bool
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens (and creates, when asked) the database at `path`, in WAL mode.
    init(path: String, options: Options = Options()) throws {
        self.path = path
        // SQLite silently falls back to read-only when the file is not writable, except for root,
        // who may write anything. A database file with no write bit is treated as read-only for
        // everyone, so an operator's `chmod a-w` protects it even from a root-run dispatcher.
        var info = stat()
        let exists = stat(path, &info) == 0
        isReadOnly = exists && (info.st_mode & 0o222) == 0
        if !exists && !options.create {
            throw StoreError(code: .sqlite(SQLITE_CANTOPEN), message: "no database at \(path)")
        }
        if !exists {
            let directory = Self.directory(of: path)
            var directoryInfo = stat()
            if stat(directory, &directoryInfo) != 0 || (directoryInfo.st_mode & S_IFMT) != S_IFDIR {
                throw StoreError(
                    code: .sqlite(SQLITE_CANTOPEN),
                    message: "cannot create database \(path): directory \(directory) does not exist")
            }
        }
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        flags |= isReadOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        var db: OpaquePointer?
        let code = sqlite3_open_v2(path, &db, flags, nil)
        handle = db
        guard code == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            handle = nil
            throw StoreError(code: .sqlite(code), message: message, context: "cannot open database \(path)")
        }
        sqlite3_busy_timeout(db, options.busyTimeoutMilliseconds)
        // The last connection to close would otherwise checkpoint the WAL into the database
        // and delete it: several fsyncs on every CLI run, most of a single enqueue's time.
        // Checkpoints still happen as the WAL grows (wal_autocheckpoint) in whichever process
        // commits then.
        csqlite_disable_checkpoint_on_close(db)
        do {
            // Reading the schema first makes a file that is not SQLite fail here, before any
            // pragma could try to write to it.
            try execute("SELECT count(*) FROM sqlite_schema")
            if !isReadOnly {
                try execute("PRAGMA journal_mode=WAL")
            }
            try execute("PRAGMA synchronous=\(options.synchronous.rawValue)")
            try execute("PRAGMA foreign_keys=ON")
            // A statement that updates many rows through a trigger that writes (the ordering-key
            // triggers under a batch of completions) keeps a statement journal to undo itself
            // if it fails part way; in a temporary file that was several page writes per job.
            // It lives only as long as its statement, so memory costs little.
            try execute("PRAGMA temp_store=MEMORY")
        } catch var error as StoreError {
            sqlite3_close_v2(db)
            handle = nil
            error.context = "cannot open database \(path)"
            throw error
        }
    }

    deinit {
        close()
    }

    /// Finalizes every cached statement and closes the connection.
    func close() {
        statements.removeAll()
        if let handle {
            sqlite3_close_v2(handle)
            self.handle = nil
        }
    }

    // MARK: Statements

    /// Returns the cached prepared statement for `sql`, preparing it on first use, reset and
    /// with its bindings cleared.
    func statement(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[sql] {
            return cached.reset()
        }
        let statement = try prepare(sql)
        statements[sql] = statement
        return statement
    }

    /// Prepares `sql` for a caller that keeps the statement itself (no lookup by text later).
    /// SQLite finalizes statements that outlive `close()` when they are released.
    func prepare(_ sql: String) throws -> SQLiteStatement {
        var raw: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard code == SQLITE_OK, let raw else {
            throw error(code: code, context: "cannot prepare statement")
        }
        return SQLiteStatement(handle: raw, connection: self)
    }

    /// Runs one or more statements that take no parameters.
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        if code != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_free(message)
            throw StoreError(
                code: .sqlite(sqlite3_extended_errcode(handle)), message: text,
                context: "while running \(sql.prefix(40))")
        }
    }

    /// Runs `body` in a write transaction started with `BEGIN IMMEDIATE`, committing when it
    /// returns and rolling back when it throws.
    ///
    /// IMMEDIATE takes the write lock up front, so the busy timeout covers waiting for other
    /// writers; a DEFERRED transaction that later upgrades to a writer fails at once with
    /// SQLITE_BUSY instead, and that error would reach users as "database is locked".
    func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        if isReadOnly {
            throw StoreError(
                code: .sqlite(SQLITE_READONLY),
                message: "database \(path) is read-only (the file has no write permission)")
        }
        try run(prepared: "BEGIN IMMEDIATE")
        do {
            let value = try body()
            try run(prepared: "COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs a parameterless statement from the cache: `BEGIN` and `COMMIT` come with every
    /// claim and every batch of completions, and `execute` would parse them each time.
    private func run(prepared sql: String) throws {
        let statement = try statement(sql)
        do {
            try statement.run()
            statement.reset()
        } catch var error as StoreError {
            statement.reset()
            error.context = "while running \(sql)"
            throw error
        }
    }

    /// Runs `body` in a read transaction, so several queries see one snapshot.
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN DEFERRED")
        defer { try? execute("COMMIT") }
        return try body()
    }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// The rowid of the most recent successful INSERT; settable, as `sqlite3_set_last_insert_rowid`
    /// allows (the daemon's lease statements use it to mark themselves, see `JobCountMoves`).
    var lastInsertRowID: Int64 {
        get { sqlite3_last_insert_rowid(handle) }
        set { sqlite3_set_last_insert_rowid(handle, newValue) }
    }

    /// Turns this connection's triggers on or off (`SQLITE_DBCONFIG_ENABLE_TRIGGER`); other
    /// connections keep theirs. Every cached statement is prepared again on its next use, so
    /// switch around a batch of work, not around each statement.
    func setTriggersEnabled(_ enabled: Bool) throws {
        let code = csqlite_enable_triggers(handle, enabled ? 1 : 0)
        guard code == SQLITE_OK else { throw error(code: code, context: "cannot switch triggers") }
    }

    /// Reads a single integer from a query such as a pragma.
    func scalar(_ sql: String) throws -> Int64 {
        try statement(sql).singleRow { $0.int64(0) } ?? 0
    }

    func error(code: Int32, context: String? = nil) -> StoreError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        let extended = handle.map { sqlite3_extended_errcode($0) } ?? code
        return StoreError(code: .sqlite(extended), message: message, context: context)
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }
}
