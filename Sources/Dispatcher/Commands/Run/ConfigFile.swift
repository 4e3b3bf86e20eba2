#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import WorkerPool

/// The `--config` file: JSON describing several queues (see README, "Config file").
///
///     {
///       "drain_timeout": "30s", "lease_margin": "15s", "poll_interval": "5ms",
///       "queues": [
///         {"name": "default", "upstream": "http://127.0.0.1:8545/", "workers": 8,
///          "timeout": "10s", "max_attempts": 20, "retry": {"base": "1s", "cap": "5m"},
///          "breaker": {"failures": 5, "cool_down": "5s"}, "channel_capacity": 32,
///          "max_response_bytes": 1048576, "max_result_bytes": 65536}
///       ]
///     }
struct ConfigFile: Decodable {
    struct Queue: Decodable {
        var name: String?
        var upstream: String
        var workers: Int?
        var timeout: String?
        var max_attempts: Int64?
        var retry: Retry?
        var breaker: Breaker?
        var channel_capacity: Int?
        var max_response_bytes: Int?
        var max_result_bytes: Int?
    }

    struct Retry: Decodable {
        var base: String?
        var cap: String?
    }

    struct Breaker: Decodable {
        var failures: Int?
        var cool_down: String?
    }

    var drain_timeout: String?
    var lease_margin: String?
    var poll_interval: String?
    var queues: [Queue]

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
        if let value = try duration(file.drain_timeout, "drain_timeout") { configuration.drainTimeout = value }
        if let value = try duration(file.lease_margin, "lease_margin") { configuration.leaseMargin = value }
        if let value = try duration(file.poll_interval, "poll_interval") { configuration.pollInterval = value }
        guard !file.queues.isEmpty else { throw DispatcherError("config \(path): 'queues' is empty") }
        configuration.queues = try file.queues.map { entry in
            var queue = QueueConfiguration(upstream: try UpstreamURL(parsing: entry.upstream))
            if let name = entry.name { queue.name = try JobInput.validateName(name, field: "queue name") }
            if let workers = entry.workers { queue.workers = workers }
            if let value = try duration(entry.timeout, "timeout") { queue.timeout = value }
            if let value = entry.max_attempts { queue.maxAttempts = try JobInput.validateMaxAttempts(value) ?? 20 }
            if let retry = entry.retry {
                queue.retry = .exponentialJitter(
                    base: try duration(retry.base, "retry.base") ?? queue.retry.base,
                    cap: try duration(retry.cap, "retry.cap") ?? queue.retry.cap)
            }
            if let breaker = entry.breaker {
                queue.breaker = .init(
                    failureThreshold: breaker.failures ?? queue.breaker.failureThreshold,
                    coolDown: try duration(breaker.cool_down, "breaker.cool_down") ?? queue.breaker.coolDown)
            }
            queue.channelCapacity = entry.channel_capacity
            if let value = entry.max_response_bytes { queue.maximumResponseBytes = value }
            if let value = entry.max_result_bytes { queue.maximumStoredResultBytes = value }
            return queue
        }
        return configuration
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.isEmpty ? "top level" : codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}
