import WorkerPool

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The `--config` file: JSON describing several queues (see README, "Config file").
///
///     {
///       "drain_timeout": "30s", "lease_margin": "15s", "poll_interval": "5ms", "io_threads": 1,
///       "retain_succeeded": "7d", "retain_failed": "30d", "retain_cancelled": "7d", "prune_interval": "1m",
///       "queues": [
///         {"name": "default", "upstream": "http://127.0.0.1:8545/", "workers": 8,
///          "timeout": "10s", "max_attempts": 20, "retry": {"base": "1s", "cap": "5m"},
///          "breaker": {"failures": 5, "cool_down": "5s"}, "channel_capacity": 32,
///          "max_response_bytes": 1048576, "max_result_bytes": 65536,
///          "tls": {"ca_file": "ca.pem", "client_cert": "client.pem", "client_key": "client-key.pem"},
///          "rate": "200/s", "burst": 1},
///         {"name": "grpc", "upstream": "grpc://10.0.0.7:50051", "protoset": "acc.protoset",
///          "grpc_keepalive": "30s", "retain_succeeded": "1d", "retain_failed": "forever"}
///       ]
///     }
struct ConfigFile: Decodable {
    struct Queue: Decodable {
        var name: String?
        var upstream: String
        var workers: Int?
        var timeout: String?
        var maxAttempts: Int64?
        var retry: Retry?
        var breaker: Breaker?
        var channelCapacity: Int?
        var maxResponseBytes: Int?
        var maxResultBytes: Int?
        var tls: TLS?
        var rate: String?
        var burst: Int?
        var protoset: String?
        var grpcKeepalive: String?
        var retainSucceeded: String?
        var retainFailed: String?
        var retainCancelled: String?

        enum CodingKeys: String, CodingKey {
            case name, upstream, workers, timeout, retry, breaker, tls, rate, burst, protoset
            case retainSucceeded = "retain_succeeded"
            case retainFailed = "retain_failed"
            case retainCancelled = "retain_cancelled"
            case maxAttempts = "max_attempts"
            case channelCapacity = "channel_capacity"
            case maxResponseBytes = "max_response_bytes"
            case maxResultBytes = "max_result_bytes"
            case grpcKeepalive = "grpc_keepalive"
        }
    }

    struct TLS: Decodable {
        var caFile: String?
        var clientCert: String?
        var clientKey: String?

        enum CodingKeys: String, CodingKey {
            case caFile = "ca_file"
            case clientCert = "client_cert"
            case clientKey = "client_key"
        }
    }

    struct Retry: Decodable {
        var base: String?
        var cap: String?
    }

    struct Breaker: Decodable {
        var failures: Int?
        var coolDown: String?

        enum CodingKeys: String, CodingKey {
            case failures
            case coolDown = "cool_down"
        }
    }

    var drainTimeout: String?
    var ioThreads: Int?
    var leaseMargin: String?
    var pollInterval: String?
    var retainSucceeded: String?
    var retainFailed: String?
    var retainCancelled: String?
    var pruneInterval: String?
    var queues: [Queue]

    enum CodingKeys: String, CodingKey {
        case queues
        case retainSucceeded = "retain_succeeded"
        case retainFailed = "retain_failed"
        case retainCancelled = "retain_cancelled"
        case pruneInterval = "prune_interval"
        case drainTimeout = "drain_timeout"
        case ioThreads = "io_threads"
        case leaseMargin = "lease_margin"
        case pollInterval = "poll_interval"
    }

    /// Reads and validates the file, applying it on top of `base`.
    static func load(path: String, into base: DaemonConfiguration) throws -> DaemonConfiguration {
        let bytes = try InputFile.contents(of: path)
        let file: ConfigFile
        do {
            file = try JSONDecoder().decode(ConfigFile.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, context) {
            throw DispatcherError("config \(path): missing '\(key.stringValue)' at \(Self.path(context.codingPath))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw DispatcherError("config \(path): wrong type at \(Self.path(context.codingPath))")
        } catch {
            throw DispatcherError("config \(path): not valid JSON")
        }
        var configuration = base
        func duration(_ text: String?, _ what: String) throws -> Duration? {
            try text.map { .milliseconds(try DurationParser.milliseconds($0, what: what)) }
        }
        if let value = try duration(file.drainTimeout, "drain_timeout") { configuration.drainTimeout = value }
        if let value = try duration(file.leaseMargin, "lease_margin") { configuration.leaseMargin = value }
        if let value = file.ioThreads {
            configuration.ioThreads = try RunCommand.validatedIOThreads(value, what: "io_threads")
        }
        if let value = try duration(file.pollInterval, "poll_interval") { configuration.pollInterval = value }
        // Retention: the file's top-level keys over the flags' (or the defaults), then each
        // queue's own keys over that.
        func retention(
            _ base: RetentionPolicy, succeeded: String?, failed: String?, cancelled: String?, prefix: String
        ) throws -> RetentionPolicy {
            var policy = base
            if let text = succeeded {
                policy.succeeded = try RetentionPolicy.parse(text, what: prefix + "retain_succeeded")
            }
            if let text = failed { policy.failed = try RetentionPolicy.parse(text, what: prefix + "retain_failed") }
            if let text = cancelled {
                policy.cancelled = try RetentionPolicy.parse(text, what: prefix + "retain_cancelled")
            }
            return policy
        }
        configuration.retention = try retention(
            configuration.retention, succeeded: file.retainSucceeded, failed: file.retainFailed,
            cancelled: file.retainCancelled, prefix: "")
        if let value = try duration(file.pruneInterval, "prune_interval") {
            guard value >= .milliseconds(10) else {
                throw DispatcherError("config \(path): prune_interval must be at least 10ms")
            }
            configuration.pruner.interval = value
        }
        guard !file.queues.isEmpty else { throw DispatcherError("config \(path): 'queues' is empty") }
        configuration.queues = try file.queues.map { entry in
            var queue = QueueConfiguration(upstream: try UpstreamURL(parsing: entry.upstream))
            if let name = entry.name { queue.name = try JobInput.validateName(name, field: "queue name") }
            if let workers = entry.workers { queue.workers = workers }
            if let value = try duration(entry.timeout, "timeout") { queue.timeout = value }
            if let value = entry.maxAttempts {
                queue.maxAttempts = try JobInput.validateMaxAttempts(value) ?? JobLife.defaultMaxAttempts
            }
            if let retry = entry.retry {
                queue.retry = .exponentialJitter(
                    base: try duration(retry.base, "retry.base") ?? queue.retry.base,
                    cap: try duration(retry.cap, "retry.cap") ?? queue.retry.cap)
            }
            if let breaker = entry.breaker {
                queue.breaker = .init(
                    failureThreshold: breaker.failures ?? queue.breaker.failureThreshold,
                    coolDown: try duration(breaker.coolDown, "breaker.coolDown") ?? queue.breaker.coolDown)
            }
            queue.channelCapacity = entry.channelCapacity
            if let value = entry.maxResponseBytes { queue.maximumResponseBytes = value }
            if let value = entry.maxResultBytes { queue.maximumStoredResultBytes = value }
            if let tls = entry.tls {
                queue.tls = UpstreamTLSConfiguration(
                    caFile: tls.caFile, clientCertificateFile: tls.clientCert, clientKeyFile: tls.clientKey)
            }
            if let rate = entry.rate {
                queue.rateLimit = try RateParser.parse(rate, burst: entry.burst ?? 1, what: "rate")
            } else if entry.burst != nil {
                throw DispatcherError("config \(path): 'burst' needs 'rate'")
            }
            queue.protoset = entry.protoset
            if let value = try duration(entry.grpcKeepalive, "grpc_keepalive") {
                guard value >= .seconds(1) else {
                    throw DispatcherError("config \(path): 'grpc_keepalive' must be at least 1s")
                }
                queue.grpcKeepalive = value
            }
            if entry.retainSucceeded != nil || entry.retainFailed != nil || entry.retainCancelled != nil {
                queue.retention = try retention(
                    configuration.retention, succeeded: entry.retainSucceeded, failed: entry.retainFailed,
                    cancelled: entry.retainCancelled, prefix: "queue \(queue.name): ")
            }
            return queue
        }
        return configuration
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.isEmpty
            ? "top level" : codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}
