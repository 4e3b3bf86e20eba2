import WorkerPool

/// One queue's settings as written (the config file's `queues[i]`, or `dispatcher run`'s queue
/// flags), checked by `validate` into a `QueueConfiguration`.
struct QueueSettings: Decodable {
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
    var rateScope: String?
    var concurrency: String?
    var maxInFlight: Int?
    var protoset: String?
    var grpcKeepalive: String?
    var retainSucceeded: String?
    var retainFailed: String?
    var retainCancelled: String?
    /// Header name → value as written (`${env:…}` and `${file:…}` not yet resolved), in the
    /// order they are sent.
    var headers: [HeaderSetting]?
    var retryCodes: [Int64]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, upstream, workers, timeout, retry, breaker, tls, rate, burst, protoset, headers, concurrency
        case retainSucceeded = "retain_succeeded"
        case retainFailed = "retain_failed"
        case retainCancelled = "retain_cancelled"
        case maxAttempts = "max_attempts"
        case maxInFlight = "max_in_flight"
        case rateScope = "rate_scope"
        case channelCapacity = "channel_capacity"
        case maxResponseBytes = "max_response_bytes"
        case maxResultBytes = "max_result_bytes"
        case retryCodes = "retry_codes"
        case grpcKeepalive = "grpc_keepalive"
    }

    struct TLS: Decodable {
        var caFile: String?
        var clientCert: String?
        var clientKey: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case caFile = "ca_file"
            case clientCert = "client_cert"
            case clientKey = "client_key"
        }
    }

    struct Retry: Decodable {
        var base: String?
        var cap: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case base, cap
        }
    }

    struct Breaker: Decodable {
        var failures: Int?
        var coolDown: String?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case failures
            case coolDown = "cool_down"
        }
    }

    init(upstream: String) {
        self.upstream = upstream
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        upstream = try container.decode(String.self, forKey: .upstream)
        workers = try container.decodeIfPresent(Int.self, forKey: .workers)
        timeout = try container.decodeIfPresent(String.self, forKey: .timeout)
        maxAttempts = try container.decodeIfPresent(Int64.self, forKey: .maxAttempts)
        retry = try container.decodeIfPresent(Retry.self, forKey: .retry)
        breaker = try container.decodeIfPresent(Breaker.self, forKey: .breaker)
        channelCapacity = try container.decodeIfPresent(Int.self, forKey: .channelCapacity)
        maxResponseBytes = try container.decodeIfPresent(Int.self, forKey: .maxResponseBytes)
        maxResultBytes = try container.decodeIfPresent(Int.self, forKey: .maxResultBytes)
        tls = try container.decodeIfPresent(TLS.self, forKey: .tls)
        rate = try container.decodeIfPresent(String.self, forKey: .rate)
        burst = try container.decodeIfPresent(Int.self, forKey: .burst)
        rateScope = try container.decodeIfPresent(String.self, forKey: .rateScope)
        concurrency = try container.decodeIfPresent(String.self, forKey: .concurrency)
        maxInFlight = try container.decodeIfPresent(Int.self, forKey: .maxInFlight)
        protoset = try container.decodeIfPresent(String.self, forKey: .protoset)
        grpcKeepalive = try container.decodeIfPresent(String.self, forKey: .grpcKeepalive)
        retainSucceeded = try container.decodeIfPresent(String.self, forKey: .retainSucceeded)
        retainFailed = try container.decodeIfPresent(String.self, forKey: .retainFailed)
        retainCancelled = try container.decodeIfPresent(String.self, forKey: .retainCancelled)
        // A JSON object has no order the decoder keeps: headers go out sorted by name.
        headers = try container.decodeIfPresent([String: String].self, forKey: .headers).map { object in
            object.sorted { $0.key < $1.key }.map { HeaderSetting(name: $0.key, value: $0.value) }
        }
        retryCodes = try container.decodeIfPresent([Int64].self, forKey: .retryCodes)
    }

    /// Checks every value and returns the queue it describes.
    ///
    /// - Parameter daemon: the daemon's settings so far (a queue's retention starts from them).
    /// - Throws: `DispatcherError` naming the setting as `names` spells it.
    func validate(daemon: DaemonConfiguration, names: SettingNames) throws -> QueueConfiguration {
        try names.rethrowing {
            let url: UpstreamURL
            do {
                url = try UpstreamURL(parsing: upstream)
            } catch let error as UpstreamURLError {
                throw DispatcherError(error.message)
            }
            var queue = QueueConfiguration(upstream: url)
            if let name { queue.name = try JobInput.validateName(name, field: names.name("name")) }
            if let workers {
                guard (1...1024).contains(workers) else {
                    throw DispatcherError("\(names.name("workers")) must be between 1 and 1024")
                }
                queue.workers = workers
            }
            if let value = try names.duration(timeout, "timeout") {
                guard value > .zero else { throw DispatcherError("\(names.name("timeout")) must be positive") }
                queue.timeout = value
            }
            if let maxAttempts {
                guard (1...1_000_000).contains(maxAttempts) else {
                    throw DispatcherError("\(names.name("max_attempts")) must be between 1 and 1000000")
                }
                queue.maxAttempts = maxAttempts
            }
            if let retry {
                let base = try names.duration(retry.base, "retry.base") ?? queue.retry.base
                let cap = try names.duration(retry.cap, "retry.cap") ?? queue.retry.cap
                guard base > .zero else { throw DispatcherError("\(names.name("retry.base")) must be positive") }
                guard cap >= base else {
                    throw DispatcherError("\(names.name("retry.cap")) must not be below \(names.name("retry.base"))")
                }
                queue.retry = .exponentialJitter(base: base, cap: cap)
            }
            if let breaker {
                let failures = breaker.failures ?? queue.breaker.failureThreshold
                guard (1...1_000_000).contains(failures) else {
                    throw DispatcherError("\(names.name("breaker.failures")) must be at least 1")
                }
                queue.breaker = .init(
                    failureThreshold: failures,
                    coolDown: try names.duration(breaker.coolDown, "breaker.cool_down") ?? queue.breaker.coolDown)
            }
            if let channelCapacity {
                guard (1...1_000_000).contains(channelCapacity) else {
                    throw DispatcherError("\(names.name("channel_capacity")) must be between 1 and 1000000")
                }
                queue.channelCapacity = channelCapacity
            }
            if let maxResponseBytes {
                guard (1...(1 << 30)).contains(maxResponseBytes) else {
                    throw DispatcherError("\(names.name("max_response_bytes")) must be between 1 and 1073741824")
                }
                queue.maximumResponseBytes = maxResponseBytes
            }
            if let maxResultBytes {
                guard (0...(1 << 30)).contains(maxResultBytes) else {
                    throw DispatcherError("\(names.name("max_result_bytes")) must be between 0 and 1073741824")
                }
                queue.maximumStoredResultBytes = maxResultBytes
            }
            if let tls {
                queue.tls = UpstreamTLSConfiguration(
                    caFile: tls.caFile, clientCertificateFile: tls.clientCert, clientKeyFile: tls.clientKey)
            }
            if let rate {
                let burst = burst ?? 1
                guard (1...1_000_000).contains(burst) else {
                    throw DispatcherError("\(names.name("burst")) must be between 1 and 1000000 (got \(burst))")
                }
                queue.rateLimit = try RateParser.parse(rate, burst: burst, what: names.name("rate"))
            } else if burst != nil || rateScope != nil {
                let what = burst != nil ? "burst" : "rate_scope"
                throw DispatcherError("\(names.name(what)) needs \(names.name("rate"))")
            }
            if let scope: RateScope = try names.choice(rateScope, "rate_scope") { queue.rateScope = scope }
            if let mode: Concurrency = try names.choice(concurrency, "concurrency") { queue.concurrency = mode }
            if let maxInFlight {
                guard (1...1_000_000).contains(maxInFlight) else {
                    throw DispatcherError("\(names.name("max_in_flight")) must be between 1 and 1000000")
                }
                queue.maxInFlight = maxInFlight
            }
            queue.protoset = protoset
            if let value = try names.duration(grpcKeepalive, "grpc_keepalive") {
                guard url.scheme == .grpc || url.scheme == .grpcs else {
                    throw DispatcherError("\(names.name("grpc_keepalive")) is for grpc:// and grpcs:// upstreams")
                }
                guard value >= .seconds(1) else {
                    throw DispatcherError("\(names.name("grpc_keepalive")) must be at least 1s")
                }
                queue.grpcKeepalive = value
            }
            if retainSucceeded != nil || retainFailed != nil || retainCancelled != nil {
                queue.retention = try DaemonSettings.retention(
                    daemon.retention, succeeded: retainSucceeded, failed: retainFailed,
                    cancelled: retainCancelled, names: names)
            }
            queue.headers = try HeaderSetting.resolve(
                headers ?? [], credentials: url.credentials, for: url.scheme, names: names)
            if let retryCodes {
                guard url.scheme == .http || url.scheme == .https else {
                    throw DispatcherError(
                        "\(names.name("retry_codes")) is for http:// and https:// upstreams (JSON-RPC)")
                }
                queue.retryCodes = Set(retryCodes)
            }
            return queue
        }
    }
}
