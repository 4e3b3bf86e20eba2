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

extension QueueActivity {
    /// The window `stats` and `top` report on, in milliseconds.
    static let window: Int64 = 60_000
    /// Percentiles are computed over at most this many of the most recently finished jobs, so a
    /// busy minute costs a bounded read.
    static let sampleLimit = 10_000

    /// Folds per-queue counts and (wait, run) samples, as every store reads them, into activity.
    static func fold(
        counts: [(queue: String, state: JobState, count: Int64)],
        samples: [(queue: String, wait: Int64, run: Int64)]
    ) -> [String: QueueActivity] {
        var result = [String: QueueActivity]()
        for row in counts {
            var activity = result[row.queue] ?? QueueActivity(queue: row.queue)
            if row.state == .succeeded {
                activity.succeeded = row.count
            } else if row.state == .failed {
                activity.failed = row.count
            }
            result[row.queue] = activity
        }
        var waits = [String: [Int64]]()
        var runs = [String: [Int64]]()
        for sample in samples {
            waits[sample.queue, default: []].append(max(0, sample.wait))
            runs[sample.queue, default: []].append(max(0, sample.run))
        }
        for (queue, values) in waits {
            result[queue]?.waitP50 = percentile(values, 0.50)
            result[queue]?.waitP99 = percentile(values, 0.99)
        }
        for (queue, values) in runs {
            result[queue]?.runP50 = percentile(values, 0.50)
            result[queue]?.runP99 = percentile(values, 0.99)
        }
        return result
    }

    /// Nearest-rank percentile of unsorted values.
    static func percentile(_ values: [Int64], _ fraction: Double) -> Int64? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
