import ArgumentParser
import CoreMetrics
import Logging
import Prometheus
import ServiceLifecycle
import WorkerPool

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `dispatcher run`: the daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Deliver queued jobs to the upstream with a fixed set of workers (the daemon).",
        discussion: """
            One queue from flags:  dispatcher run --upstream http://127.0.0.1:8545/ --workers 8
            Several queues:        dispatcher run --config dispatcher.json
            SIGTERM or SIGINT stops claiming, hands buffered jobs back, lets in-flight calls finish
            within --drain-timeout, and exits 0.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The JSON-RPC endpoint, http://host:port/path or https://host:port/path.") var upstream: String?
    @Option(help: "PEM file of CA certificates trusted besides the system's (https).") var caFile: String?
    @Option(help: "PEM client certificate for mutual TLS (https; with --client-key).") var clientCert: String?
    @Option(help: "PEM private key of --client-cert.") var clientKey: String?
    @Option(help: "Most calls to the upstream, N/s or N/m, shared by the workers.") var rate: String?
    @Option(help: "Calls that may go at once under --rate after a quiet spell.") var burst: Int?
    @Option(help: "PostgreSQL: a direct or session-pooled URL of --db's database to LISTEN on (see README).")
    var listenDb: String?
    @Option(help: "Workers = upstream connections = most concurrent calls.") var workers = 8
    @Option(help: "The queue to serve.") var queue = "default"
    @Option(help: "Per-call timeout for jobs that set none.") var timeout = "10s"
    @Option(help: "Attempts for jobs that set none.") var maxAttempts: Int64 = JobLife.defaultMaxAttempts
    @Option(help: "Backoff between attempts: upper bound of the first delay (default 1s).") var retryBase: String?
    @Option(help: "Backoff between attempts: the largest delay (default 5m).") var retryCap: String?
    @Option(help: "Consecutive failures that open the circuit breaker.") var breakerFailures = 5
    @Option(help: "How long the breaker stays open before a probe.") var breakerCoolDown = "5s"
    @Option(help: "How long in-flight calls may finish after SIGTERM/SIGINT.") var drainTimeout = "30s"
    @Option(help: "Event loop threads for upstream connections, shared by all queues.") var ioThreads = 1
    @Option(help: "Lease = job timeout + this; a crashed daemon's jobs return after it.") var leaseMargin = "15s"
    @Option(help: "How often an idle daemon checks for new jobs.") var pollInterval = "5ms"
    @Option(help: "Delete succeeded jobs this long after they finish (90s, 15m, 12h, 7d; 0 or forever keeps).")
    var retainSucceeded = "7d"
    @Option(help: "Delete failed jobs this long after they fail (0 or forever keeps).") var retainFailed = "30d"
    @Option(help: "Delete cancelled jobs this long after they are cancelled (0 or forever keeps).")
    var retainCancelled = "7d"
    @Option(help: "How often the pruner looks for finished jobs past their retention.") var pruneInterval = "1m"
    @Option(help: "A JSON config file describing several queues (see README).") var config: String?
    @Option(help: "gRPC upstreams: a FileDescriptorSet (protoc --include_imports --descriptor_set_out).")
    var protoset: String?
    @Flag(help: "Exit once no job of the served queues is pending or running.") var exitWhenIdle = false
    @Option(help: "trace, debug, info, notice, warning, error or critical.") var logLevel = "info"
    @Option(help: "Log lines as text or json (one object per line).") var logFormat = "text"
    @Option(help: "Serve /metrics and /healthz on PORT or HOST:PORT (loopback unless a host is named).")
    var admin: String?
    @Flag(help: "Allow --admin on a non-loopback address (also needs --admin-token).") var adminPublic = false
    @Option(
        help:
            "Require this token for the dashboard (default: $DISPATCHER_ADMIN_TOKEN); /metrics and /healthz stay open.")
    var adminToken: String?

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw DispatcherError(
                "unknown log level '\(logLevel)'; expected trace, debug, info, notice, warning, error or critical")
        }
        guard let format = LogFormat(rawValue: logFormat) else {
            throw DispatcherError("unknown log format '\(logFormat)'; expected text or json")
        }
        let token = try resolvedAdminToken()
        let adminAddress = try admin.map {
            try AdminAddress(parsing: $0, allowPublic: adminPublic, hasToken: token != nil)
        }
        var configuration = try makeConfiguration()
        configuration.sampleGauges = adminAddress != nil
        MallocTuning.applyForDaemon()
        let logger = format.makeLogger(level: level)
        var services = [ServiceGroupConfiguration.ServiceConfiguration]()
        let health = HealthState()
        let liveQueues = LiveQueueBoard()
        // Metrics are only collected when someone can scrape them; the backend must be in place
        // before the daemon's instruments are made.
        let registry = adminAddress.map { _ in Self.bootstrapMetrics() }
        // The daemon checks every queue's transport settings before it opens the database, so it
        // is built before anything else touches the store.
        let daemon = try await Daemon.build(
            configuration: configuration, logger: logger, health: health, liveQueues: liveQueues)
        if let adminAddress, let registry {
            let dashboard = DashboardRoutes(
                store: try await configuration.store.openOperatorStore(), live: liveQueues,
                access: AdminAccess(token: token), storeName: configuration.databasePath,
                allowedHosts: adminAddress.hostHeaders)
            // First in the group, so it is shut down last and answers /healthz during the drain.
            services.append(
                .init(
                    service: AdminServer(
                        address: adminAddress, registry: registry, health: health, dashboard: dashboard,
                        logger: logger)))
        }
        services.append(.init(service: daemon, successTerminationBehavior: .gracefullyShutdownGroup))
        if let fileGuard = daemon.fileGuard {
            // Its error (the file was replaced or removed) drains the daemon as SIGTERM would,
            // then `group.run()` rethrows it: exit 1.
            services.append(.init(service: fileGuard, failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Installs the Prometheus backend for swift-metrics and returns its registry.
    static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }

    /// `--admin-token`, else `DISPATCHER_ADMIN_TOKEN`; nil when neither is set.
    func resolvedAdminToken() throws -> String? {
        if let adminToken {
            guard admin != nil else { throw DispatcherError("--admin-token needs --admin") }
            guard adminToken.utf8.count >= 16 else {
                throw DispatcherError("--admin-token must be at least 16 characters")
            }
            return adminToken
        }
        guard let environment = getenv("DISPATCHER_ADMIN_TOKEN"), environment.pointee != 0 else { return nil }
        let token = String(cString: environment)
        guard token.utf8.count >= 16 else {
            throw DispatcherError("DISPATCHER_ADMIN_TOKEN must be at least 16 characters")
        }
        return token
    }

    func makeConfiguration() throws -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        configuration.store = try database.location()
        if let listenDb {
            configuration.listenDatabase = try Self.listenDatabase(
                listenDb, what: "--listen-db", for: configuration.store)
        }
        configuration.exitWhenIdle = exitWhenIdle
        configuration.drainTimeout = try duration(drainTimeout, "--drain-timeout")
        configuration.ioThreads = try Self.validatedIOThreads(ioThreads, what: "--io-threads")
        configuration.leaseMargin = try duration(leaseMargin, "--lease-margin")
        configuration.pollInterval = try duration(pollInterval, "--poll-interval")
        guard configuration.pollInterval >= .milliseconds(1) else {
            throw DispatcherError("--poll-interval must be at least 1ms")
        }
        configuration.retention = RetentionPolicy(
            succeeded: try RetentionPolicy.parse(retainSucceeded, what: "--retain-succeeded"),
            failed: try RetentionPolicy.parse(retainFailed, what: "--retain-failed"),
            cancelled: try RetentionPolicy.parse(retainCancelled, what: "--retain-cancelled"))
        configuration.pruner.interval = try duration(pruneInterval, "--prune-interval")
        guard configuration.pruner.interval >= .milliseconds(10) else {
            throw DispatcherError("--prune-interval must be at least 10ms")
        }
        if let config {
            guard upstream == nil, protoset == nil else {
                throw DispatcherError("use either --config or --upstream/--protoset, not both")
            }
            guard caFile == nil, clientCert == nil, clientKey == nil, rate == nil, burst == nil else {
                throw DispatcherError("with --config, set TLS files and rates per queue in the file")
            }
            return try ConfigFile.load(path: config, into: configuration)
        }
        guard let upstream else { throw DispatcherError("--upstream is required (or --config FILE)") }
        guard (1...1024).contains(workers) else { throw DispatcherError("--workers must be between 1 and 1024") }
        var queue = QueueConfiguration(upstream: try UpstreamURL(parsing: upstream))
        queue.name = try JobInput.validateName(self.queue, field: "queue")
        queue.workers = workers
        queue.protoset = protoset
        queue.tls = UpstreamTLSConfiguration(
            caFile: caFile, clientCertificateFile: clientCert, clientKeyFile: clientKey)
        if let rate {
            queue.rateLimit = try RateParser.parse(rate, burst: burst ?? 1, what: "--rate")
        } else if burst != nil {
            throw DispatcherError("--burst needs --rate")
        }
        queue.timeout = try duration(timeout, "--timeout")
        guard queue.timeout > .zero else { throw DispatcherError("--timeout must be positive") }
        queue.maxAttempts = try JobInput.validateMaxAttempts(maxAttempts) ?? JobLife.defaultMaxAttempts
        queue.retry = .exponentialJitter(
            base: try retryBase.map { try duration($0, "--retry-base") } ?? queue.retry.base,
            cap: try retryCap.map { try duration($0, "--retry-cap") } ?? queue.retry.cap)
        guard breakerFailures >= 1 else { throw DispatcherError("--breaker-failures must be at least 1") }
        queue.breaker = .init(
            failureThreshold: breakerFailures, coolDown: try duration(breakerCoolDown, "--breaker-cool-down"))
        configuration.queues = [queue]
        return configuration
    }

    /// Upstream I/O threads must be between 1 and 64.
    /// `--listen-db` (or `listen_db`): a PostgreSQL URL beside a PostgreSQL `--db`, not itself
    /// through a transaction pooler (`LISTEN` needs a server connection of its own).
    static func listenDatabase(_ text: String, what: String, for store: StoreLocation) throws -> PostgresURL {
        guard case .postgres = store else { throw DispatcherError("\(what) needs a PostgreSQL --db") }
        guard case .postgres(let url) = try StoreLocation(parsing: text) else {
            throw DispatcherError("\(what) must be a postgres:// URL")
        }
        guard !url.poolsTransactions else {
            throw DispatcherError(
                "\(what) must not go through a transaction pooler (pooling=transaction): LISTEN needs a direct or session-pooled connection"
            )
        }
        return url
    }

    static func validatedIOThreads(_ threads: Int, what: String) throws -> Int {
        guard (1...64).contains(threads) else { throw DispatcherError("\(what) must be between 1 and 64") }
        return threads
    }

    private func duration(_ text: String, _ what: String) throws -> Duration {
        .milliseconds(try DurationParser.milliseconds(text, what: what))
    }
}
