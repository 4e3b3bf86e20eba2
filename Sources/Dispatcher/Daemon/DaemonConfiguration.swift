import WorkerPool

/// Everything `dispatcher run` needs, from flags or a config file.
struct DaemonConfiguration: Sendable {
    /// Where the jobs live (`--db`): an SQLite file or a PostgreSQL URL.
    var store: StoreLocation = .sqlite(path: "./dispatcher.db")
    /// PostgreSQL: where the daemon listens for new jobs (`--listen-db`, a direct or
    /// session-pooled URL of the same database) when `store` goes through a transaction pooler.
    var listenDatabase: PostgresURL?
    /// The store as logs show it (never with a password).
    var databasePath: String { store.displayName }
    /// The queues this daemon serves, each with its own upstream and workers.
    var queues: [QueueConfiguration] = []
    /// The periodic jobs this daemon enqueues (the config file's `schedules`); any daemon on
    /// the database may enqueue a slot, and only one job per slot is ever created.
    var schedules: [Schedule] = []
    /// How long in-flight calls may take to finish after SIGTERM/SIGINT.
    var drainTimeout: Duration = .seconds(30)
    /// Added to a job's timeout to form its lease; a crashed daemon's jobs return to pending
    /// this long after their timeout.
    var leaseMargin: Duration = .seconds(15)
    /// How often an idle feeder checks the database for new work.
    var pollInterval: Duration = .milliseconds(5)
    /// Event loop threads for the upstream connections, shared by every queue's workers.
    ///
    /// One is the default because one thread serves many connections best: their responses
    /// arrive together in one `epoll_wait`, and each worker's request and response stay on that
    /// thread, with no hop between threads (README has the `bench-pool.py` figures). More threads
    /// pay off only when calls are CPU-heavy (TLS, large messages) on many cores.
    var ioThreads = 1
    /// How often expired leases are reaped and this daemon's leases renewed.
    var reapInterval: Duration = .seconds(1)
    /// Exit once no job of the daemon's queues is pending or running.
    var exitWhenIdle = false
    /// Sample the state gauges (pending, running, channel depth) for metrics export.
    var sampleGauges = false
    /// How long finished jobs are kept, for every queue that sets none of its own.
    var retention = RetentionPolicy()
    /// How the pruner paces its deletes.
    var pruner = Pruner.Configuration()
    /// Where the daemon reads the time.
    var clock = DaemonClock()
    /// The lease owner written on claimed jobs: unique per daemon process.
    var owner: String = DaemonConfiguration.makeOwnerID()

    /// What the pruner applies: the daemon's retention, and each queue's own.
    var retentionRules: RetentionRules {
        RetentionRules(
            defaults: retention,
            perQueue: Dictionary(
                queues.compactMap { queue in queue.retention.map { (queue.name, $0) } },
                uniquingKeysWith: { first, _ in first }))
    }

    static func makeOwnerID() -> String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let name = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(name):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
    }
}

/// One queue served by the daemon.
struct QueueConfiguration: Sendable {
    /// The queue name jobs were enqueued with.
    var name: String = "default"
    /// The JSON-RPC endpoint.
    var upstream: UpstreamURL
    /// Workers, which is also the number of upstream connections.
    var workers: Int = 8
    /// Per-call timeout for jobs that did not set their own.
    var timeout: Duration = .seconds(10)
    /// Attempts for jobs that did not set their own.
    var maxAttempts: Int64 = JobLife.defaultMaxAttempts
    /// Backoff between attempts of a job.
    var retry: RetryPolicy = JobLife.defaultRetryPolicy
    /// When the circuit breaker opens and for how long.
    var breaker = CircuitBreaker<ContinuousClock.Instant>.Configuration()
    /// Jobs buffered between the feeder and the workers; nil means `defaultJobsPerWorker` per
    /// worker (and no more than a second's worth of calls under a rate limit).
    var channelCapacity: Int?
    /// Trust roots and client identity for an `https` upstream.
    var tls = UpstreamTLSConfiguration()
    /// Whether `workers` is the number of calls in flight (`.fixed`) or their upper bound, with
    /// the number moved by the upstream's latency and overload answers (`.adaptive`).
    var concurrency: Concurrency = .fixed
    /// Calls in flight at once for the queue across every daemon on the database: each daemon's
    /// workers call only while they hold one of the slots it leases (`SlotLeaser`); nil: only
    /// this daemon's `workers` bound it.
    var maxInFlight: Int?
    /// Calls per second or minute for the queue; nil: unlimited. Each daemon's workers keep it
    /// among themselves, and with `rateScope` `.fleet` every daemon's claims share it too.
    var rateLimit: TokenBucket<ContinuousClock.Instant>.Configuration?
    /// Whom `rateLimit` counts: the fleet on the database (the default), or each daemon alone.
    var rateScope: RateScope = .fleet
    /// How long this queue's finished jobs are kept; nil: the daemon's `retention`.
    var retention: RetentionPolicy?
    /// Largest upstream response accepted.
    var maximumResponseBytes: Int = 1 << 20
    /// Largest result stored in the `result` column; larger ones are recorded as not stored.
    var maximumStoredResultBytes: Int = 64 * 1024
    /// Sent with every call (HTTP headers, or gRPC metadata), secrets resolved; basic auth from
    /// the URL's credentials is among them.
    var headers: [UpstreamHeader] = []
    /// JSON-RPC error codes that are retried; nil: the server errors (-32603, -32000…-32099).
    var retryCodes: Set<Int64>?
    /// For gRPC upstreams: the protoset (a `FileDescriptorSet`) whose types convert JSON params
    /// and results; nil means raw mode (`{"@bytes": "<base64>"}`).
    var protoset: String?
    /// For gRPC upstreams: a keepalive PING this often on each connection; nil: none.
    var grpcKeepalive: Duration?

    /// The default channel capacity per worker. The feeder claims a channel's worth at a time,
    /// and every claim is a transaction with a cost of its own (WAL pages, locks, two hops to
    /// the store's thread), so fewer, larger claims drain faster (CHANGELOG has the alternating
    /// drains that chose 16). A deeper buffer costs little: buffered jobs are handed back at
    /// shutdown, and their leases are renewed like those of running jobs.
    static let defaultJobsPerWorker = 16

    var effectiveChannelCapacity: Int {
        if let channelCapacity { return channelCapacity }
        let capacity = workers * Self.defaultJobsPerWorker
        guard let rateLimit else { return capacity }
        // Claimed jobs waiting for a token hold leases; keep them to about a second's worth.
        return max(1, min(capacity, Int(rateLimit.callsPerSecond.rounded(.up))))
    }

    /// The bounds this queue's claims keep across the fleet.
    var claimLimits: ClaimLimits {
        ClaimLimits(rate: rateScope == .fleet ? rateLimit.map(SharedRate.init) : nil)
    }

    /// The queue in the startup line: header names only, never their values.
    var startupDescription: String {
        let headerNames = headers.isEmpty ? "" : " headers \(headers.map(\.name))"
        return "\(name)→\(upstream) ×\(workers)\(headerNames)"
    }

    /// What follows a call for this queue's jobs.
    var jobLife: JobLife { JobLife(defaultMaxAttempts: maxAttempts, retry: retry) }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whom a queue's `rate` counts.
enum RateScope: String, Sendable, CaseIterable {
    /// Every daemon on the database together: the rate is the upstream's, however many run.
    case fleet
    /// Each daemon alone (N daemons make N × the rate), with no store round trip for tokens.
    case daemon
}

/// How a queue's calls in flight are bounded within one daemon.
enum Concurrency: String, Sendable, CaseIterable {
    /// Every worker calls: `workers` at once.
    case fixed
    /// At most `workers`, the number in use set by an `AdaptiveLimit`.
    case adaptive
}
