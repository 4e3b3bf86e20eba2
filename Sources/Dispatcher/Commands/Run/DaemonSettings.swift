import WorkerPool

/// `dispatcher run`'s settings as written, before any is checked: the flags and the config file
/// both fill these, and `apply(to:names:)` parses and checks every value in one place, so a value
/// means the same and is refused the same whichever way it came. Keys are the config file's;
/// `SettingNames` turns them into the flag or the file path the user wrote.
struct DaemonSettings: Decodable {
    var drainTimeout: String?
    var ioThreads: Int?
    var leaseMargin: String?
    var pollInterval: String?
    var retainSucceeded: String?
    var retainFailed: String?
    var retainCancelled: String?
    var pruneInterval: String?
    /// PostgreSQL: a direct or session-pooled URL to `LISTEN` on (see `listenDatabase`).
    var listenDb: String?
    var queues: [QueueSettings]?
    /// Periodic jobs (config file only); see `ScheduleSettings`.
    var schedules: [ScheduleSettings]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case queues, schedules
        case retainSucceeded = "retain_succeeded"
        case retainFailed = "retain_failed"
        case retainCancelled = "retain_cancelled"
        case pruneInterval = "prune_interval"
        case drainTimeout = "drain_timeout"
        case ioThreads = "io_threads"
        case leaseMargin = "lease_margin"
        case pollInterval = "poll_interval"
        case listenDb = "listen_db"
    }

    /// Checks every value that is set and applies it to `configuration`; queues, when set,
    /// replace the configuration's.
    ///
    /// - Throws: `DispatcherError` naming the setting as `names` spells it.
    func apply(to configuration: inout DaemonConfiguration, names: SettingNames) throws {
        try names.rethrowing {
            if let value = try names.duration(drainTimeout, "drain_timeout") { configuration.drainTimeout = value }
            if let value = try names.duration(leaseMargin, "lease_margin") { configuration.leaseMargin = value }
            if let value = ioThreads {
                guard (1...64).contains(value) else {
                    throw DispatcherError("\(names.name("io_threads")) must be between 1 and 64")
                }
                configuration.ioThreads = value
            }
            if let value = try names.duration(pollInterval, "poll_interval") {
                guard value >= .milliseconds(1) else {
                    throw DispatcherError("\(names.name("poll_interval")) must be at least 1ms")
                }
                configuration.pollInterval = value
            }
            configuration.retention = try Self.retention(
                configuration.retention, succeeded: retainSucceeded, failed: retainFailed,
                cancelled: retainCancelled, names: names)
            if let value = try names.duration(pruneInterval, "prune_interval") {
                guard value >= .milliseconds(10) else {
                    throw DispatcherError("\(names.name("prune_interval")) must be at least 10ms")
                }
                configuration.pruner.interval = value
            }
            if let listenDb {
                configuration.listenDatabase = try Self.listenDatabase(
                    listenDb, what: names.name("listen_db"), for: configuration.store)
            }
        }
        guard let queues else { return }
        guard !queues.isEmpty else { throw DispatcherError("\(names.prefix)'queues' is empty") }
        var seen = [String: Int]()
        configuration.queues = try queues.enumerated().map { index, settings in
            let queueNames = names.queue(index)
            let queue = try settings.validate(daemon: configuration, names: queueNames)
            if let first = seen.updateValue(index, forKey: queue.name) {
                throw DispatcherError(
                    "\(queueNames.prefix)\(queueNames.name("name")) '\(queue.name)' is already used by queues[\(first)]"
                )
            }
            return queue
        }
    }

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

    /// `base` with the retention values that are set.
    static func retention(
        _ base: RetentionPolicy, succeeded: String?, failed: String?, cancelled: String?, names: SettingNames
    ) throws -> RetentionPolicy {
        var policy = base
        if let text = succeeded {
            policy.succeeded = try RetentionPolicy.parse(text, what: names.name("retain_succeeded"))
        }
        if let text = failed { policy.failed = try RetentionPolicy.parse(text, what: names.name("retain_failed")) }
        if let text = cancelled {
            policy.cancelled = try RetentionPolicy.parse(text, what: names.name("retain_cancelled"))
        }
        return policy
    }
}

/// How error messages name a setting: `--workers` for a flag, `queues[2].workers` (after
/// `config PATH: `) for a key of the config file.
struct SettingNames: Sendable {
    /// Put before every message (`config PATH: `, or nothing for flags).
    let prefix: String
    /// The key's spelling.
    let name: @Sendable (_ key: String) -> String

    /// Flags: `retry.base` is `--retry-base`, with the few flags named otherwise.
    static let flags = SettingNames(prefix: "") { key in
        let renamed: [String: String] = [
            "name": "queue", "tls.ca_file": "ca-file", "tls.client_cert": "client-cert",
            "tls.client_key": "client-key", "headers": "header",
        ]
        let flag = renamed[key] ?? key
        return "--" + String(flag.map { $0 == "." || $0 == "_" ? "-" : $0 })
    }

    /// Keys of the config file at `path`, at its top level.
    static func file(_ path: String) -> SettingNames {
        SettingNames(prefix: "config \(path): ") { $0 }
    }

    /// The names inside the queue at `index` of the file (flags name one queue and stay as they are).
    func queue(_ index: Int) -> SettingNames {
        guard !prefix.isEmpty else { return self }
        let name = self.name
        return SettingNames(prefix: prefix) { key in "queues[\(index)].\(name(key))" }
    }

    /// Runs `body`, putting `prefix` before the message of a `DispatcherError` it throws.
    func rethrowing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DispatcherError where !prefix.isEmpty && !error.description.hasPrefix(prefix) {
            throw DispatcherError(prefix + error.description)
        }
    }

    /// Parses a duration setting when it is set.
    func duration(_ text: String?, _ key: String) throws -> Duration? {
        try text.map { .milliseconds(try DurationParser.milliseconds($0, what: name(key))) }
    }

    /// Parses a setting that names one of `Choice`'s cases when it is set.
    func choice<Choice: CaseIterable & RawRepresentable>(_ text: String?, _ key: String) throws -> Choice?
    where Choice.RawValue == String {
        guard let text else { return nil }
        guard let choice = Choice(rawValue: text) else {
            let choices = Choice.allCases.map(\.rawValue).joined(separator: " or ")
            throw DispatcherError("\(name(key)) must be \(choices) (got '\(text)')")
        }
        return choice
    }
}
