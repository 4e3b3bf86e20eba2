import Logging
import PostgresNIO

/// A long-lived connection that outlives the server going away: the dashboard's store keeps one
/// for as long as the daemon runs, and a PostgreSQL restart (or failover) must not leave it
/// answering errors until the daemon is restarted.
///
/// The connection is opened again on first use after it closed. Opening is serialised (one
/// connect at a time, however many requests arrive during an outage), and a request that finds
/// the server unreachable fails at once with the connect error rather than waiting.
actor PostgresSharedConnection {
    let url: PostgresURL
    let logger: Logger
    private var current: PostgresConnection?

    init(url: PostgresURL, connection: PostgresConnection, logger: Logger) {
        self.url = url
        self.current = connection
        self.logger = logger
    }

    /// The open connection, connecting anew when the last one closed.
    func connection() async throws -> PostgresConnection {
        if let current, !current.isClosed { return current }
        if let stale = current {
            current = nil
            try? await stale.close()
        }
        let fresh = try await PostgresStore.connect(url: url, logger: logger)
        current = fresh
        return fresh
    }

    /// Closes `connection` after a statement or transaction on it failed, so nothing it may still
    /// hold (an aborted transaction, a lock) is used again; the next request connects anew.
    func discard(_ connection: PostgresConnection) async {
        if current === connection { current = nil }
        try? await connection.close()
    }

    /// Closes the connection for good (the store is being closed).
    func close() async {
        let last = current
        current = nil
        try? await last?.close()
    }
}
