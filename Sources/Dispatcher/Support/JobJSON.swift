import WorkerPool

/// The stable `--json` shapes of `show`, `list` and `stats` (documented in README.md).
///
/// Keys always appear, in this order, with `null` for absent values; times are integer
/// milliseconds since the Unix epoch; `params` and `result` are embedded as the JSON they hold, or
/// as a JSON string when a row written by another program holds text that is not valid JSON, so
/// the output is valid JSON whatever the database holds.
enum JobJSON {
    static func object(_ job: Job) -> String {
        var fields: [(String, String)] = [
            ("id", String(job.id)),
            ("queue", JSONEscaping.quoted(job.queue)),
            ("method", JSONEscaping.quoted(job.method)),
            ("params", embedded(job.params)),
            ("key", string(job.idempotencyKey)),
            ("ordering_key", string(job.orderingKey)),
            ("priority", String(job.priority)),
            ("state", JSONEscaping.quoted(job.state.rawValue)),
        ]
        fields += [
            ("retrying", job.isRetrying ? "true" : "false"),
            ("waits_for_ordering_key", job.waitsForOrderingKey ? "true" : "false"),
            ("attempts", String(job.attempts)),
            ("max_attempts", number(job.maxAttempts)),
            ("timeout_ms", number(job.timeoutMilliseconds)),
            ("run_at", String(job.runAt)),
            ("created_at", String(job.createdAt)),
            ("started_at", number(job.startedAt)),
            ("finished_at", number(job.finishedAt)),
            ("lease_owner", string(job.leaseOwner)),
            ("lease_until", number(job.leaseUntil)),
            ("last_error", string(job.lastError)),
            ("result", embedded(job.result)),
        ]
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// `text` as it is when it is one JSON value, else quoted as a string.
    private static func embedded(_ text: String?) -> String {
        guard var text else { return "null" }
        let isJSON = text.withUTF8 { bytes in (try? JSONScanner.validate(UnsafeRawBufferPointer(bytes))) != nil }
        return isJSON ? text : JSONEscaping.quoted(text)
    }

    private static func string(_ value: String?) -> String {
        value.map(JSONEscaping.quoted) ?? "null"
    }

    private static func number(_ value: Int64?) -> String {
        value.map { String($0) } ?? "null"
    }
}
