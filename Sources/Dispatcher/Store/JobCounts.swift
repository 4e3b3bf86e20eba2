/// The exact per-queue job counts the database keeps in `job_counts` (see the migration
/// `0003_job_counts_and_retention`): triggers update them in the same transaction as every
/// insert, delete and change of state, so reading them costs the same at 10,000,000 jobs as at
/// 1,000.
///
/// A bucket is a job's state, except that pending jobs already attempted (*retrying*) count in
/// their own bucket, `retrying`; the pending count shown is `pending + retrying`.
enum JobCounts {
    /// The bucket of pending jobs with attempts > 0.
    static let retryingBucket = "retrying"

    /// Folds `(queue, bucket, count)` rows into per-queue statistics, in the rows' queue order;
    /// queues whose counts are all zero are left out, as a `GROUP BY` over the jobs would.
    static func fold(_ rows: [(queue: String, bucket: String, count: Int64)]) -> [QueueStats] {
        var byQueue = [String: QueueStats]()
        var order = [String]()
        for row in rows where row.count != 0 {
            if byQueue[row.queue] == nil {
                byQueue[row.queue] = QueueStats(queue: row.queue)
                order.append(row.queue)
            }
            if row.bucket == retryingBucket {
                byQueue[row.queue]!.retrying += row.count
                byQueue[row.queue]!.counts[.pending, default: 0] += row.count
            } else if let state = JobState(rawValue: row.bucket) {
                byQueue[row.queue]!.counts[state, default: 0] += row.count
            }
        }
        return order.map { byQueue[$0]! }
    }

    /// Pending (retrying included) and running counts of one queue's rows.
    static func pendingAndRunning(_ rows: [(bucket: String, count: Int64)]) -> (pending: Int64, running: Int64) {
        var result: (pending: Int64, running: Int64) = (0, 0)
        for row in rows {
            switch row.bucket {
            case JobState.pending.rawValue, retryingBucket: result.pending += row.count
            case JobState.running.rawValue: result.running += row.count
            default: break
            }
        }
        return result
    }
}
