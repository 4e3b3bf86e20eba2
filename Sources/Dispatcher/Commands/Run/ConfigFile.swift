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
///       "listen_db": "postgres://dispatcher@db-primary:5432/jobs",
///       "retain_succeeded": "7d", "retain_failed": "30d", "retain_cancelled": "7d", "prune_interval": "1m",
///       "queues": [
///         {"name": "default", "upstream": "http://127.0.0.1:8545/", "workers": 8,
///          "timeout": "10s", "max_attempts": 20, "retry": {"base": "1s", "cap": "5m"},
///          "breaker": {"failures": 5, "cool_down": "5s"}, "channel_capacity": 32,
///          "max_response_bytes": 1048576, "max_result_bytes": 65536,
///          "tls": {"ca_file": "ca.pem", "client_cert": "client.pem", "client_key": "client-key.pem"},
///          "rate": "200/s", "burst": 1, "rate_scope": "fleet", "max_in_flight": 16, "retry_codes": [-32000, 1],
///          "headers": {"Authorization": "Bearer ${env:PARTNER_TOKEN}", "X-Api-Key": "${file:/run/secrets/key}"}},
///         {"name": "grpc", "upstream": "grpc://10.0.0.7:50051", "protoset": "acc.protoset",
///          "grpc_keepalive": "30s", "retain_succeeded": "1d", "retain_failed": "forever"}
///       ],
///       "schedules": [
///         {"name": "nightly-report", "cron": "0 3 * * *", "timezone": "Europe/Berlin", "queue": "default",
///          "method": "report.run", "params": {"full": true}, "priority": 0, "max_attempts": 5,
///          "timeout": "60s", "catch_up": "latest"}
///       ]
///     }
///
/// Strict: a key the daemon does not know is an error naming its path (`queues[2].wrokers:
/// unknown key`), so a typo never runs a daemon that does something else than written. Values
/// are checked by the same code as the flags (`DaemonSettings`, `QueueSettings`).
enum ConfigFile {
    /// Reads and validates the file, applying it on top of `base`.
    static func load(path: String, into base: DaemonConfiguration) throws -> DaemonConfiguration {
        let bytes = try InputFile.contents(of: path)
        let names = SettingNames.file(path)
        let tree: ConfigKeys.Tree
        do {
            tree = try JSONDecoder().decode(ConfigKeys.Tree.self, from: Data(bytes))
        } catch {
            throw DispatcherError("\(names.prefix)not valid JSON")
        }
        if let unknown = ConfigKeys.firstUnknownKey(in: tree) {
            throw DispatcherError("\(names.prefix)\(unknown): unknown key")
        }
        let settings: DaemonSettings
        do {
            settings = try JSONDecoder().decode(DaemonSettings.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, context) {
            throw DispatcherError(
                "\(names.prefix)missing '\(key.stringValue)' at \(ConfigKeys.path(context.codingPath))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw DispatcherError("\(names.prefix)wrong type at \(ConfigKeys.path(context.codingPath))")
        } catch let DecodingError.valueNotFound(_, context) {
            throw DispatcherError("\(names.prefix)wrong type at \(ConfigKeys.path(context.codingPath))")
        } catch {
            throw DispatcherError("\(names.prefix)not valid JSON")
        }
        guard settings.queues != nil else { throw DispatcherError("\(names.prefix)missing 'queues' at top level") }
        var configuration = base
        try settings.apply(to: &configuration, names: names)
        configuration.schedules = try ScheduleSettings.validate(
            settings.schedules ?? [], params: rawParams(bytes), names: names)
        return configuration
    }

    /// Each schedule's `params` as the JSON text written in the file, by the schedule's index:
    /// decoding it into a tree and encoding it again could round big numbers through `Double`.
    static func rawParams(_ bytes: [UInt8]) -> [Int: String] {
        var found = [Int: String]()
        bytes.withUnsafeBytes { file in
            func text(_ range: Range<Int>, in buffer: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: buffer[range])
            }
            // The file was decoded already: a failure here only means there is nothing to cut.
            try? JSONScanner.scanObject(file) { key, range in
                guard key == "schedules" else { return }
                var index = 0
                try JSONScanner.scanArray(text(range, in: file)) { element in
                    let entry = text(element.shifted(by: range.lowerBound), in: file)
                    try? JSONScanner.scanObject(entry) { member, value in
                        guard member == "params" else { return }
                        found[index] = String(decoding: text(value, in: entry), as: UTF8.self)
                    }
                    index += 1
                }
            }
        }
        return found
    }
}

extension Range<Int> {
    fileprivate func shifted(by offset: Int) -> Range<Int> { (lowerBound + offset)..<(upperBound + offset) }
}

/// The keys the config file may hold, read from the settings' `CodingKeys`, so a new setting is
/// known here as soon as it is decoded.
enum ConfigKeys {
    private static let top = Set(DaemonSettings.CodingKeys.allCases.map(\.rawValue))
    private static let queue = Set(QueueSettings.CodingKeys.allCases.map(\.rawValue))
    /// A schedule's keys; its `params` holds the user's own.
    private static let schedule = Set(ScheduleSettings.CodingKeys.allCases.map(\.rawValue))
    /// Objects inside a queue whose keys are fixed; `headers` holds names of the user's choosing.
    private static let queueObjects: [String: Set<String>] = [
        "retry": Set(QueueSettings.Retry.CodingKeys.allCases.map(\.rawValue)),
        "breaker": Set(QueueSettings.Breaker.CodingKeys.allCases.map(\.rawValue)),
        "tls": Set(QueueSettings.TLS.CodingKeys.allCases.map(\.rawValue)),
    ]

    /// Any JSON value, kept only as far as its objects' keys (what the check needs).
    enum Tree: Decodable {
        case object([String: Tree])
        case array([Tree])
        case other

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            if let container = try? decoder.container(keyedBy: Key.self) {
                var members = [String: Tree]()
                for key in container.allKeys { members[key.stringValue] = try container.decode(Tree.self, forKey: key) }
                self = .object(members)
            } else if var container = try? decoder.unkeyedContainer() {
                var elements = [Tree]()
                while !container.isAtEnd { elements.append(try container.decode(Tree.self)) }
                self = .array(elements)
            } else {
                self = .other
            }
        }

        var object: [String: Tree]? {
            if case .object(let members) = self { return members }
            return nil
        }
    }

    /// The path of the first key (in sorted order) that no setting reads, or nil.
    static func firstUnknownKey(in tree: Tree) -> String? {
        guard let object = tree.object else { return nil }
        if let key = object.keys.sorted().first(where: { !top.contains($0) }) { return key }
        guard case .array(let queues) = object["queues"] else { return nil }
        for (index, entry) in queues.enumerated() {
            guard let entry = entry.object else { continue }
            let path = "queues[\(index)]"
            if let key = entry.keys.sorted().first(where: { !queue.contains($0) }) { return "\(path).\(key)" }
            for (name, allowed) in queueObjects.sorted(by: { $0.key < $1.key }) {
                guard let nested = entry[name]?.object else { continue }
                if let key = nested.keys.sorted().first(where: { !allowed.contains($0) }) {
                    return "\(path).\(name).\(key)"
                }
            }
        }
        guard case .array(let schedules) = object["schedules"] else { return nil }
        for (index, entry) in schedules.enumerated() {
            guard let entry = entry.object else { continue }
            if let key = entry.keys.sorted().first(where: { !schedule.contains($0) }) {
                return "schedules[\(index)].\(key)"
            }
        }
        return nil
    }

    /// A decoding path as the user reads it: `queues[2].retry.base`.
    static func path(_ codingPath: [any CodingKey]) -> String {
        guard !codingPath.isEmpty else { return "top level" }
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }
}
