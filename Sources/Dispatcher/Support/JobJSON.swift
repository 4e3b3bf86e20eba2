import WorkerPool

/// The stable `--json` shapes of `show`, `list` and `stats` (documented in README.md).
///
/// Keys always appear, in this order, with `null` for absent values; times are integer
/// milliseconds since the Unix epoch; `params` and `result` are embedded as the JSON they hold.
enum JobJSON {
    static func object(_ job: Job) -> String {
        var fields: [(String, String)] = [
            ("id", String(job.id)),
            ("queue", JSONEscaping.quoted(job.queue)),
            ("method", JSONEscaping.quoted(job.method)),
            ("params", job.params ?? "null"),
            ("key", string(job.idempotencyKey)),
            ("priority", String(job.priority)),
            ("state", JSONEscaping.quoted(job.state.rawValue)),
        ]
        fields += [
            ("retrying", job.state == .pending && job.attempts > 0 ? "true" : "false"),
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
            ("result", job.result ?? "null"),
        ]
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    private static func string(_ value: String?) -> String {
        value.map(JSONEscaping.quoted) ?? "null"
    }

    private static func number(_ value: Int64?) -> String {
        value.map { String($0) } ?? "null"
    }
}
