import Synchronization
import WorkerPool

/// What `/healthz` reports: kept up to date by the daemon, read by the admin server.
final class HealthState: Sendable {
    struct Snapshot: Sendable, Equatable {
        /// The last database operation of the lease keeper succeeded.
        var storeReachable = true
        /// The last store error, when it is unreachable.
        var storeError: String?
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
        let reason: String?
        if snapshot.draining {
            reason = "draining: shutting down"
        } else if !snapshot.storeReachable {
            reason = "store unreachable: \(snapshot.storeError ?? "unknown error")"
        } else if !snapshot.poolsRunning {
            reason = "starting"
        } else {
            reason = nil
        }
        let status = reason == nil ? "ok" : "unavailable"
        var body = "{\"status\":\"\(status)\",\"store\":\(snapshot.storeReachable ? "\"ok\"" : "\"unreachable\"")"
        body += ",\"pools\":\(snapshot.poolsRunning ? "\"running\"" : "\"stopped\"")"
        body += ",\"draining\":\(snapshot.draining)"
        if let reason { body += ",\"reason\":\(JSONEscaping.quoted(reason))" }
        body += "}"
        return (reason == nil ? 200 : 503, body)
    }
}
