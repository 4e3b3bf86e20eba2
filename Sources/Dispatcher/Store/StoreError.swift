/// A failed store statement, with the store's own code kept beside the message, so the daemon's
/// outage reporting classifies by the code (`StoreFailureClassifying`) and never by the text.
struct StoreError: UserFacingError {
    /// The code the store gave, as the store names it.
    enum Code: Sendable, Equatable {
        /// PostgreSQL's five-character SQLSTATE (`53100`, `25006`, `40P01`).
        case sqlState(String)
        /// No code: the connection failed, or the error was the client's own.
        case none
    }

    var code: Code
    /// The one line users see.
    var description: String
}
