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
    @Option(help: "Most calls to the upstream, N/s or N/m, shared by every daemon on the database.") var rate: String?
    @Option(help: "Calls that may go at once under --rate after a quiet spell.") var burst: Int?
    @Option(help: "Whom --rate counts: fleet (every daemon on the database; default) or daemon (each alone).")
    var rateScope: String?
    @Option(help: "Most calls in flight at once for the queue, across every daemon on the database.")
    var maxInFlight: Int?
    @Option(
        help: ArgumentHelp(
            "A header sent with every call, 'NAME: VALUE' (repeatable; gRPC: metadata). ${env:NAME} and ${file:PATH} in VALUE are read at start.",
            valueName: "NAME: VALUE"))
    var header: [String] = []
    @Option(help: "JSON-RPC error codes to retry, comma-separated (default: -32603 and -32000…-32099).")
    var retryCodes: String?
    @Option(help: "PostgreSQL: a direct or session-pooled URL of --db's database to LISTEN on (see README).")
    var listenDb: String?
    @Option(help: "Workers = upstream connections = most concurrent calls.") var workers = 8
    @Flag(help: "Let the upstream's latency and overload answers set the calls in flight, up to --workers.")
    var adaptive = false
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
    @Option(
        help:
            "Serve the HTTP enqueue API on PORT or HOST:PORT (loopback unless a host is named; the same as --admin shares its port)."
    )
    var api: String?
    @Option(help: "Require this bearer token for the enqueue API (default: $DISPATCHER_API_TOKEN).")
    var apiToken: String?

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw DispatcherError(
                "unknown log level '\(logLevel)'; expected trace, debug, info, notice, warning, error or critical")
        }
        guard let format = LogFormat(rawValue: logFormat) else {
            throw DispatcherError("unknown log format '\(logFormat)'; expected text or json")
        }
        let token = try Self.token(
            adminToken, flag: "--admin-token", environment: "DISPATCHER_ADMIN_TOKEN", for: admin, "--admin")
        let adminAddress = try admin.map {
            try AdminAddress(parsing: $0, allowPublic: adminPublic, hasToken: token != nil)
        }
        let apiToken = try Self.token(
            self.apiToken, flag: "--api-token", environment: "DISPATCHER_API_TOKEN", for: api, "--api")
        let apiAddress = try api.map { try APIAddress(parsing: $0, hasToken: apiToken != nil) }
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
        var enqueueAPI: EnqueueAPI?
        if apiAddress != nil { enqueueAPI = try await EnqueueAPI.open(configuration.store, token: apiToken) }
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
                        api: apiAddress?.isShared(with: adminAddress) == true ? enqueueAPI : nil, logger: logger)))
        }
        if let apiAddress, let enqueueAPI, !apiAddress.isShared(with: adminAddress) {
            services.append(.init(service: APIServer(address: apiAddress, api: enqueueAPI, logger: logger)))
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

    /// A listener's token: its flag, else its environment variable; nil when neither is set. A
    /// token must be at least 16 characters, and its flag needs the listener's.
    static func token(
        _ value: String?, flag: String, environment name: String, for listener: String?, _ listenerFlag: String
    ) throws -> String? {
        if let value {
            guard listener != nil else { throw DispatcherError("\(flag) needs \(listenerFlag)") }
            guard value.utf8.count >= 16 else { throw DispatcherError("\(flag) must be at least 16 characters") }
            return value
        }
        guard let environment = getenv(name), environment.pointee != 0 else { return nil }
        let token = String(cString: environment)
        guard token.utf8.count >= 16 else { throw DispatcherError("\(name) must be at least 16 characters") }
        return token
    }

    /// The daemon's configuration from the flags, or from the flags' daemon-wide settings and
    /// `--config`; every value is checked by `DaemonSettings` and `QueueSettings`.
    func makeConfiguration() throws -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        configuration.store = try database.location()
        configuration.exitWhenIdle = exitWhenIdle
        var settings = DaemonSettings()
        settings.drainTimeout = drainTimeout
        settings.ioThreads = ioThreads
        settings.leaseMargin = leaseMargin
        settings.pollInterval = pollInterval
        settings.retainSucceeded = retainSucceeded
        settings.retainFailed = retainFailed
        settings.retainCancelled = retainCancelled
        settings.pruneInterval = pruneInterval
        settings.listenDb = listenDb
        if let config {
            guard upstream == nil, protoset == nil else {
                throw DispatcherError("use either --config or --upstream/--protoset, not both")
            }
            guard caFile == nil, clientCert == nil, clientKey == nil, rate == nil, burst == nil, rateScope == nil,
                header.isEmpty, retryCodes == nil, maxInFlight == nil, !adaptive
            else {
                throw DispatcherError(
                    "with --config, set TLS files, rates, in-flight limits, adaptive concurrency, headers and retry codes per queue in the file"
                )
            }
            try settings.apply(to: &configuration, names: .flags)
            return try ConfigFile.load(path: config, into: configuration)
        }
        guard let upstream else { throw DispatcherError("--upstream is required (or --config FILE)") }
        var queue = QueueSettings(upstream: upstream)
        queue.name = self.queue
        queue.workers = workers
        queue.protoset = protoset
        if caFile != nil || clientCert != nil || clientKey != nil {
            queue.tls = .init(caFile: caFile, clientCert: clientCert, clientKey: clientKey)
        }
        queue.rate = rate
        queue.burst = burst
        queue.rateScope = rateScope
        if adaptive { queue.concurrency = Concurrency.adaptive.rawValue }
        queue.maxInFlight = maxInFlight
        queue.timeout = timeout
        queue.maxAttempts = maxAttempts
        if retryBase != nil || retryCap != nil { queue.retry = .init(base: retryBase, cap: retryCap) }
        queue.breaker = .init(failures: breakerFailures, coolDown: breakerCoolDown)
        queue.headers = try header.map(HeaderSetting.parse)
        queue.retryCodes = try retryCodes.map(Self.parseRetryCodes)
        settings.queues = [queue]
        try settings.apply(to: &configuration, names: .flags)
        return configuration
    }

    /// `--retry-codes`: integers separated by commas.
    static func parseRetryCodes(_ text: String) throws -> [Int64] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard let code = Int64(String(part).trimmingSpaces()) else {
                throw DispatcherError("--retry-codes must be integers separated by commas (got '\(text)')")
            }
            return code
        }
    }
}
