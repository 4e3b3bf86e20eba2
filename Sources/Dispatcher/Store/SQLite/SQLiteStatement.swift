import CSQLite

/// A prepared statement owned by one `SQLiteConnection`.
///
/// Statements are cached by their SQL text and reused, so binding starts with `reset()`.
final class SQLiteStatement {
    let handle: OpaquePointer
    private unowned let connection: SQLiteConnection

    init(handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Resets the statement and clears its bindings, ready for a new execution.
    @discardableResult
    func reset() -> SQLiteStatement {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        return self
    }

    // MARK: Binding (1-based indexes, as SQLite counts them)

    func bind(_ value: Int64, at index: Int32) {
        sqlite3_bind_int64(handle, index, value)
    }

    func bind(_ value: Int, at index: Int32) {
        sqlite3_bind_int64(handle, index, Int64(value))
    }

    func bind(_ value: Int64?, at index: Int32) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ value: String?, at index: Int32) {
        guard let value else {
            sqlite3_bind_null(handle, index)
            return
        }
        var text = value
        text.withUTF8 { buffer in
            _ = sqlite3_bind_text(handle, index, buffer.baseAddress, Int32(buffer.count), csqlite_transient())
        }
    }

    /// Binds UTF-8 bytes as TEXT without building a `String` first (the enqueue hot path).
    func bindText(_ bytes: UnsafeRawBufferPointer, at index: Int32) {
        // An empty buffer may have a nil base address, which SQLite would store as NULL.
        if bytes.isEmpty {
            sqlite3_bind_text(handle, index, "", 0, csqlite_transient())
        } else {
            sqlite3_bind_text(
                handle, index, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(bytes.count),
                csqlite_transient())
        }
    }

    // MARK: Stepping

    /// Advances to the next row; returns false when the statement is done.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw connection.error(code: code)
        }
    }

    /// Steps once and reads the first row with `read`, or returns nil when there is none; then
    /// resets the statement.
    ///
    /// The reset matters: a statement left mid-result keeps its read transaction open, and in
    /// WAL mode a later `BEGIN IMMEDIATE` on a stale snapshot fails with SQLITE_BUSY at once,
    /// without waiting for the busy timeout.
    func singleRow<T>(_ read: (SQLiteStatement) -> T) throws -> T? {
        defer { sqlite3_reset(handle) }
        return try step() ? read(self) : nil
    }

    /// Runs a statement that returns no rows (or whose rows are not needed).
    func run() throws {
        while try step() {}
    }

    // MARK: Columns (0-based indexes, as SQLite counts them)

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    func int(_ column: Int32) -> Int {
        Int(sqlite3_column_int64(handle, column))
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    func optionalInt64(_ column: Int32) -> Int64? {
        isNull(column) ? nil : int64(column)
    }

    func string(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The column's bytes as an array, for payloads handed on without decoding.
    func bytes(_ column: Int32) -> [UInt8]? {
        guard let text = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeBufferPointer(start: text, count: count))
    }
}
