/// A failed store statement, with the store's own code kept beside the message, so the daemon's
/// outage reporting classifies by the code (`StoreFailureClassifying`) and never by the text.
struct StoreError: UserFacingError {
    /// The code the store gave, as the store names it.
    enum Code: Sendable, Equatable {
        /// PostgreSQL's five-character SQLSTATE (`53100`, `25006`, `40P01`).
        case sqlState(String)
        /// SQLite's extended result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE`, …).
        case sqlite(Int32)
        /// No code: the connection failed, or the error was the client's own.
        case none
    }

    var code: Code
    /// The store's message (SQLite's text verbatim, "file is not a database"), or ours.
    var message: String
    /// What the dispatcher was doing, put before the message (the statement being prepared).
    var context: String?

    init(code: Code, message: String, context: String? = nil) {
        self.code = code
        self.message = message
        self.context = context
    }

    /// The one line users see.
    var description: String {
        if let context { return "\(context): \(message)" }
        return message
    }
}
