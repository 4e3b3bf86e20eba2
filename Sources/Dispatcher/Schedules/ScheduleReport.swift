import WorkerPool

/// What `dispatcher schedules` and the dashboard's Schedules page show: per schedule its
/// expression, the next slot, and the newest slot that became a job with that job's state.
struct ScheduleReport: Sendable {
    struct Row: Sendable, Equatable {
        var name: String
        var cron: String
        var timezone: String
        var queue: String
        var method: String
        /// Nil when the expression matches no future time (or the stored one no longer parses).
        var nextSlot: Int64?
        var lastSlot: Int64?
        var lastJobID: Int64?
        var lastJobState: String?
        /// Nil for a schedule of a config file the store has never seen.
        var coveredUntil: Int64?
        var updatedAt: Int64?
    }

    var rows: [Row]

    /// The store's schedules; with `configured` (a config file's), those instead, in the file's
    /// order, each with what the store knows of it.
    init(records: [ScheduleRecord], configured: [Schedule]? = nil, now: Int64) {
        let known = Dictionary(records.map { ($0.definition.name, $0) }, uniquingKeysWith: { first, _ in first })
        func row(_ definition: ScheduleDefinition, next: Int64?, _ record: ScheduleRecord?) -> Row {
            Row(
                name: definition.name, cron: definition.cron, timezone: definition.timezone, queue: definition.queue,
                method: definition.method, nextSlot: next, lastSlot: record?.lastSlot, lastJobID: record?.lastJobID,
                lastJobState: record?.lastJobState, coveredUntil: record?.coveredUntil, updatedAt: record?.updatedAt)
        }
        if let configured {
            rows = configured.map { row(ScheduleDefinition($0), next: $0.nextSlot(after: now), known[$0.name]) }
        } else {
            rows = records.map { record in
                let definition = record.definition
                // Stored as a daemon validated it; a row from a newer version may not parse here.
                let next = (try? CronExpression(parsing: definition.cron)).flatMap { cron in
                    (try? ScheduleZone(identifier: definition.timezone))?.nextSlot(of: cron, after: now)
                }
                return row(definition, next: next, record)
            }
        }
    }

    func table() -> String {
        var table = TableFormatter(headers: [
            "NAME", "CRON", "TIMEZONE", "QUEUE", "NEXT SLOT", "LAST SLOT", "LAST JOB", "STATE",
        ])
        for row in rows {
            table.append([
                row.name, row.cron, row.timezone, row.queue, row.nextSlot.map(Timestamp.format) ?? "–",
                row.lastSlot.map(Timestamp.format) ?? "–", row.lastJobID.map(String.init) ?? "–",
                row.lastJobState ?? "–",
            ])
        }
        return table.render()
    }

    /// One JSON object per schedule and line; keys always present, `null` when absent, times in
    /// milliseconds since the epoch (README, "Scheduled jobs").
    func jsonLines() -> String {
        rows.map { row in
            let number: (Int64?) -> String = { $0.map(String.init) ?? "null" }
            let fields: [(String, String)] = [
                ("name", JSONEscaping.quoted(row.name)), ("cron", JSONEscaping.quoted(row.cron)),
                ("timezone", JSONEscaping.quoted(row.timezone)), ("queue", JSONEscaping.quoted(row.queue)),
                ("method", JSONEscaping.quoted(row.method)), ("next_slot", number(row.nextSlot)),
                ("last_slot", number(row.lastSlot)), ("last_job_id", number(row.lastJobID)),
                ("last_job_state", row.lastJobState.map(JSONEscaping.quoted) ?? "null"),
                ("covered_until", number(row.coveredUntil)), ("updated_at", number(row.updatedAt)),
            ]
            return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}\n"
        }.joined()
    }
}
