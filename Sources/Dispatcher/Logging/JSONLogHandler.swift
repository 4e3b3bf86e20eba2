import Logging
import WorkerPool

#if canImport(Glibc)
    import Glibc
#endif

/// A swift-log handler writing one JSON object per line to stderr:
/// `{"ts":"…","level":"info","label":"dispatcher","message":"…","job.id":"42","queue":"default",…}`.
///
/// Metadata keys are written as top-level string fields, so log shippers can index `job.id`,
/// `queue` and `attempt` without parsing the message.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if let error = event.error { merged["error"] = "\(error)" }
        var json = [UInt8]()
        json.reserveCapacity(256)
        func field(_ key: String, _ value: String) {
            json.append(json.isEmpty ? UInt8(ascii: "{") : UInt8(ascii: ","))
            JSONEscaping.appendQuoted(key, to: &json)
            json.append(UInt8(ascii: ":"))
            JSONEscaping.appendQuoted(value, to: &json)
        }
        field("ts", Timestamp.format(WallClock.nowMilliseconds()))
        field("level", event.level.rawValue)
        field("label", label)
        field("message", event.message.description)
        for key in merged.keys.sorted() where !["ts", "level", "label", "message"].contains(key) {
            field(key, "\(merged[key]!)")
        }
        json.append(UInt8(ascii: "}"))
        json.append(UInt8(ascii: "\n"))
        // One write(2) per line: lines from several threads never interleave.
        _ = json.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// `--log-format`.
enum LogFormat: String, CaseIterable, Sendable {
    case text
    case json

    /// A logger writing to stderr in this format at `level`.
    func makeLogger(level: Logger.Level) -> Logger {
        var logger: Logger
        switch self {
        case .text: logger = Logger(label: "dispatcher") { StreamLogHandler.standardError(label: $0) }
        case .json: logger = Logger(label: "dispatcher") { JSONLogHandler(label: $0) }
        }
        logger.logLevel = level
        return logger
    }
}
