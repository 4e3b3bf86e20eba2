import WorkerPool

/// The figures `stats` and `top` show, read in one snapshot of the store.
struct StatsReport: Sendable {
    var now: Int64
    var queues: [QueueStats]
    var activity: [String: QueueActivity]
    /// Queues no daemon claims from (`dispatcher pause`).
    var paused: Set<String>

    init(now: Int64, statistics: StoreStatistics) {
        self.now = now
        queues = statistics.queues
        activity = statistics.activity
        paused = statistics.paused
        // A queue whose jobs were all purged can still have finished recently, and an empty queue
        // can be paused: list those too.
        for queue in activity.keys.sorted() + paused.sorted() where !queues.contains(where: { $0.queue == queue }) {
            queues.append(QueueStats(queue: queue))
        }
    }

    func activity(of queue: String) -> QueueActivity {
        activity[queue] ?? QueueActivity(queue: queue)
    }

    /// The human table: counts, then last-minute throughput and latencies.
    func table() -> String {
        var table = TableFormatter(headers: [
            "QUEUE", "STATUS", "PENDING", "RETRYING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "OLDEST PENDING",
            "DONE/MIN", "FAILED/MIN", "WAIT P50/P99", "RUN P50/P99",
        ])
        for queue in queues {
            let recent = activity(of: queue.queue)
            table.append([
                queue.queue, paused.contains(queue.queue) ? "paused" : "active", String(queue.count(.pending)),
                String(queue.retrying), String(queue.count(.running)),
                String(queue.count(.succeeded)), String(queue.count(.failed)), String(queue.count(.cancelled)),
                queue.oldestPendingAge(now: now).map { DurationParser.format(milliseconds: $0) } ?? "-",
                String(recent.succeeded), String(recent.failed),
                Self.pair(recent.waitP50, recent.waitP99), Self.pair(recent.runP50, recent.runP99),
            ])
        }
        return table.render()
    }

    /// One JSON object per queue (see README for the fields).
    func jsonLines() -> String {
        queues.map { queue in
            let recent = activity(of: queue.queue)
            let counts = JobState.allCases.map { "\"\($0.rawValue)\":\(queue.count($0))" }.joined(separator: ",")
            return "{\"queue\":\(JSONEscaping.quoted(queue.queue)),\"paused\":\(paused.contains(queue.queue)),"
                + "\"counts\":{\(counts)},"
                + "\"retrying\":\(queue.retrying),\"oldest_pending_age_ms\":\(Self.number(queue.oldestPendingAge(now: now))),"
                + "\"last_minute\":{\"succeeded\":\(recent.succeeded),\"failed\":\(recent.failed),"
                + "\"wait_ms\":{\"p50\":\(Self.number(recent.waitP50)),\"p99\":\(Self.number(recent.waitP99))},"
                + "\"run_ms\":{\"p50\":\(Self.number(recent.runP50)),\"p99\":\(Self.number(recent.runP99))}}}\n"
        }.joined()
    }

    static func pair(_ first: Int64?, _ second: Int64?) -> String {
        guard let first, let second else { return "-" }
        return "\(DurationParser.format(milliseconds: first))/\(DurationParser.format(milliseconds: second))"
    }

    static func number(_ value: Int64?) -> String {
        value.map { String($0) } ?? "null"
    }
}
