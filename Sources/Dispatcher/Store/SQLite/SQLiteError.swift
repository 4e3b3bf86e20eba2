import CSQLite

/// An error reported by SQLite, carrying SQLite's own result code and message.
///
/// The message is what users see on stderr, so it is SQLite's text verbatim (for example
/// "file is not a database"), prefixed with what dispatcher was doing when it happened.
struct SQLiteError: UserFacingError {
    /// SQLite's extended result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE`, ...).
    var code: Int32
    /// SQLite's error message.
    var message: String
    /// What dispatcher was doing, for instance the statement being prepared.
    var context: String?

    var description: String {
        if let context { return "\(context): \(message)" }
        return message
    }

    /// The primary result code (the low byte of the extended code).
    var primaryCode: Int32 { code & 0xff }

    var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }
}
