import WorkerPool

/// How long finished jobs are kept before the daemon's pruner deletes them, per terminal state.
///
/// The defaults keep a week of history for what went well or was cancelled, and a month of
/// the dead set, which operators inspect and retry:
///
/// | state     | default | flag                 | config key          |
/// |-----------|---------|----------------------|---------------------|
/// | succeeded | 7d      | `--retain-succeeded` | `retain_succeeded`  |
/// | failed    | 30d     | `--retain-failed`    | `retain_failed`     |
/// | cancelled | 7d      | `--retain-cancelled` | `retain_cancelled`  |
///
/// `0` or `forever` keeps a state's jobs forever.
struct RetentionPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Succeeded jobs are kept this long after finishing; nil keeps them.
    var succeeded: Duration? = .seconds(7 * 86_400)
    /// Failed jobs (the dead set) are kept this long after failing; nil keeps them.
    var failed: Duration? = .seconds(30 * 86_400)
    /// Cancelled jobs are kept this long after cancelling; nil keeps them.
    var cancelled: Duration? = .seconds(7 * 86_400)

    /// The terminal states, in the order the pruner visits them.
    static let states: [JobState] = [.succeeded, .failed, .cancelled]

    /// How long jobs in `state` are kept; nil: forever (and for states that are not terminal).
    subscript(state: JobState) -> Duration? {
        get {
            switch state {
            case .succeeded: succeeded
            case .failed: failed
            case .cancelled: cancelled
            case .pending, .running: nil
            }
        }
        set {
            switch state {
            case .succeeded: succeeded = newValue
            case .failed: failed = newValue
            case .cancelled: cancelled = newValue
            case .pending, .running: break
            }
        }
    }

    /// `succeeded 7d, failed 30d, cancelled 7d`, as logs show it.
    var description: String {
        Self.states.map { "\($0.rawValue) \(Self.format(self[$0]))" }.joined(separator: ", ")
    }

    /// Whether any state is pruned at all.
    var prunesAnything: Bool { succeeded != nil || failed != nil || cancelled != nil }

    /// Parses a retention: a duration (`90s`, `15m`, `12h`, `7d`), or `0` / `forever` to keep.
    static func parse(_ text: String, what: String) throws -> Duration? {
        let trimmed = text.trimmingSpaces()
        if trimmed == "0" || trimmed == "forever" { return nil }
        let milliseconds: Int64
        do {
            milliseconds = try DurationParser.milliseconds(trimmed, what: what)
        } catch {
            throw DispatcherError(
                "invalid \(what) '\(text)'; expected a duration such as 90s, 15m, 12h or 7d, or 0 or forever to keep")
        }
        // "0s" keeps too: a horizon of zero would delete jobs the moment they finish.
        return milliseconds == 0 ? nil : .milliseconds(milliseconds)
    }

    /// A horizon as it would be written: `7d`, `12h`, `90s`, or `forever`.
    static func format(_ value: Duration?) -> String {
        guard let milliseconds = value?.wholeMilliseconds else { return "forever" }
        for (suffix, factor) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] as [(String, Int64)]
        where milliseconds % factor == 0 {
            return "\(milliseconds / factor)\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}

/// The retention the pruner applies: the daemon's default for every queue in the database,
/// and the queues that set their own in the config file.
struct RetentionRules: Sendable, Equatable, CustomStringConvertible {
    var defaults = RetentionPolicy()
    var perQueue: [String: RetentionPolicy] = [:]

    /// How long jobs of `queue` in `state` are kept; nil: forever.
    func horizon(queue: String, state: JobState) -> Duration? {
        (perQueue[queue] ?? defaults)[state]
    }

    var description: String {
        ([defaults.description] + perQueue.keys.sorted().map { "\($0): \(perQueue[$0]!)" }).joined(separator: "; ")
    }

    /// Whether the pruner has anything to do.
    var prunesAnything: Bool { defaults.prunesAnything || perQueue.values.contains(where: \.prunesAnything) }
}
