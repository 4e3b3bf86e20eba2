import Synchronization

/// What the daemon knows about its queues that the database does not: breaker state and open
/// upstream connections. The daemon writes it (once a second, with the gauges); the dashboard
/// reads it, so a page view never reaches into a worker pool.
final class LiveQueueBoard: Sendable {
    /// One queue's live figures in this daemon.
    struct Status: Sendable, Equatable {
        /// `closed`, `half-open` or `open`.
        var breaker: String
        /// Upstream connections open now (at most the worker count).
        var connectionsOpen: Int
        /// Workers, for "open / workers".
        var workers: Int
        /// Calls allowed in flight now (the adaptive limit or `workers`, cut to leased slots).
        var concurrencyLimit: Int
        /// Whether `concurrencyLimit` moves with the upstream's answers.
        var adaptive: Bool
        /// The upstream this queue calls.
        var upstream: String
    }

    private let statuses = Mutex([String: Status]())

    var snapshot: [String: Status] { statuses.withLock { $0 } }

    func update(queue: String, _ status: Status) {
        statuses.withLock { $0[queue] = status }
    }

    /// The breaker gauge's number as a word.
    static func breakerName(_ gauge: Int) -> String {
        switch gauge {
        case 0: "closed"
        case 1: "half-open"
        default: "open"
        }
    }
}
