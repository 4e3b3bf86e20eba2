/// What finished recently in one queue: throughput and latency percentiles.
struct QueueActivity: Equatable, Sendable {
    var queue: String
    /// Jobs that succeeded within the window.
    var succeeded: Int64 = 0
    /// Jobs that failed for good within the window.
    var failed: Int64 = 0
    /// From due (`run_at`) to claimed (`started_at`), in milliseconds.
    var waitP50: Int64?
    var waitP99: Int64?
    /// From claimed to finished, in milliseconds.
    var runP50: Int64?
    var runP99: Int64?
}

/// A recently failed job, for `top`.
struct RecentFailure: Equatable, Sendable {
    var id: Int64
    var queue: String
    var method: String
    var error: String
    var finishedAt: Int64
}

extension JobStore {
    /// Percentiles are computed over at most this many of the most recently finished jobs, so a
    /// busy minute costs a bounded read.
    static let activitySample = 10_000

    /// Per queue: jobs finished in the `window` ending at `now`, and wait/run percentiles.
    func activity(now: Int64, window: Int64 = 60_000) throws -> [String: QueueActivity] {
        var result = [String: QueueActivity]()
        let counts = try connection.statement(
            """
            SELECT queue, state, count(*) FROM jobs
            WHERE finished_at >= ?1 AND state IN ('succeeded', 'failed') GROUP BY queue, state
            """)
        counts.bind(now - window, at: 1)
        while try counts.step() {
            let queue = counts.string(0) ?? ""
            var activity = result[queue] ?? QueueActivity(queue: queue)
            if counts.string(1) == "succeeded" {
                activity.succeeded = counts.int64(2)
            } else {
                activity.failed = counts.int64(2)
            }
            result[queue] = activity
        }
        let samples = try connection.statement(
            """
            SELECT queue, started_at - run_at, finished_at - started_at FROM jobs
            WHERE finished_at >= ?1 AND state IN ('succeeded', 'failed') AND started_at IS NOT NULL
            ORDER BY finished_at DESC LIMIT ?2
            """)
        samples.bind(now - window, at: 1)
        samples.bind(Self.activitySample, at: 2)
        var waits = [String: [Int64]]()
        var runs = [String: [Int64]]()
        while try samples.step() {
            let queue = samples.string(0) ?? ""
            waits[queue, default: []].append(max(0, samples.int64(1)))
            runs[queue, default: []].append(max(0, samples.int64(2)))
        }
        for (queue, values) in waits {
            result[queue]?.waitP50 = Self.percentile(values, 0.50)
            result[queue]?.waitP99 = Self.percentile(values, 0.99)
        }
        for (queue, values) in runs {
            result[queue]?.runP50 = Self.percentile(values, 0.50)
            result[queue]?.runP99 = Self.percentile(values, 0.99)
        }
        return result
    }

    /// The most recently failed jobs, newest first.
    func recentFailures(limit: Int) throws -> [RecentFailure] {
        let statement = try connection.statement(
            "SELECT id, queue, method, last_error, finished_at FROM jobs WHERE state = 'failed' ORDER BY id DESC LIMIT ?"
        )
        statement.bind(limit, at: 1)
        var failures = [RecentFailure]()
        while try statement.step() {
            failures.append(
                RecentFailure(
                    id: statement.int64(0), queue: statement.string(1) ?? "", method: statement.string(2) ?? "",
                    error: statement.string(3) ?? "", finishedAt: statement.optionalInt64(4) ?? 0))
        }
        return failures
    }

    /// Nearest-rank percentile of unsorted values.
    static func percentile(_ values: [Int64], _ fraction: Double) -> Int64? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
