/// What kind of trouble a failed store operation reveals, as far as the daemon's outage
/// reporting is concerned: it decides the words of the log lines and `/healthz`, and what a
/// later success must prove before the outage is over (see `StoreOutage`).
enum StoreFailure: String, Sendable, Equatable {
    /// The store does not answer: PostgreSQL is down or unreachable, the file cannot be opened.
    case unreachable
    /// The store answers but refuses writes: disk full, read-only file system, I/O error.
    case notWritable = "not writable"
    /// Another connection holds the lock for longer than the busy timeout.
    case locked

    /// How the store is described while this lasts ("store not writable").
    var state: String { "store \(rawValue)" }

    /// The `store` field of `/healthz` while this lasts.
    var code: String {
        switch self {
        case .unreachable: "unreachable"
        case .notWritable: "not_writable"
        case .locked: "locked"
        }
    }
}

/// A store that can say what kind of failure one of its errors is. Each store knows its own
/// error codes (SQLite's result codes, PostgreSQL's SQLSTATE); the daemon asks through this and
/// names no concrete store. A store that does not conform has every failure taken as
/// `.unreachable`.
protocol StoreFailureClassifying: Sendable {
    /// The kind of failure `error`, thrown by one of this store's operations, is.
    func failure(of error: any Error) -> StoreFailure
}
