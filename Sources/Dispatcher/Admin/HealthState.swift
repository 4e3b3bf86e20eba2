import Synchronization
import WorkerPool

/// What `/healthz` reports: kept up to date by the daemon, read by the admin server.
final class HealthState: Sendable {
    struct Snapshot: Sendable, Equatable {
        /// The store's outage under way, kept by `StoreHealth`; nil while the store works.
        var storeOutage: StoreOutageReport?
        /// Why the daemon is leaving for good: its SQLite file was replaced or removed
        /// (`DatabaseFileGuard`). Outranks the drain that follows.
        var databaseFileFault: String?
        /// The worker pools are running (set once the daemon started).
        var poolsRunning = false
        /// Graceful shutdown has begun: in-flight calls are draining.
        var draining = false
    }

    private let state = Mutex(Snapshot())

    var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0) }
    }

    /// The status code and JSON body of `/healthz`.
    func response() -> (status: Int, body: String) {
        let snapshot = self.snapshot
        // The store's trouble is the reason while it lasts, drain or not.
        let store: String
        var reason: String?
        if let fault = snapshot.databaseFileFault {
            store = "file_replaced_or_removed"
            reason = fault
        } else if let outage = snapshot.storeOutage {
            store = outage.failure.code
            reason = "\(outage.failure.state): \(outage.reason)"
        } else {
            store = "ok"
        }
        if reason == nil && snapshot.draining {
            reason = "draining: shutting down"
        } else if reason == nil && !snapshot.poolsRunning {
            reason = "starting"
        }
        let status = reason == nil ? "ok" : "unavailable"
        var body = "{\"status\":\"\(status)\",\"store\":\(JSONEscaping.quoted(store))"
        body += ",\"pools\":\(snapshot.poolsRunning ? "\"running\"" : "\"stopped\"")"
        body += ",\"draining\":\(snapshot.draining)"
        if let reason { body += ",\"reason\":\(JSONEscaping.quoted(reason))" }
        body += "}"
        return (reason == nil ? 200 : 503, body)
    }
}

/// A store outage as `/healthz` shows it.
struct StoreOutageReport: Sendable, Equatable {
    var failure: StoreFailure
    /// The latest error.
    var reason: String
}
