import CoreMetrics

/// The daemon's job-level swift-metrics instruments, one set per queue, created up front so
/// recording is a dictionary lookup and an atomic add.
struct DaemonMetrics: Sendable {
    struct Queue: Sendable {
        let claimed: Counter
        let succeeded: Counter
        let retried: Counter
        let failed: Counter
        let released: Counter
        let startDelay: Timer
        let pending: Gauge
        let running: Gauge
        let channelDepth: Gauge

        init(queue: String) {
            let labels = [("queue", queue)]
            claimed = Counter(label: "dispatcher_jobs_claimed_total", dimensions: labels)
            succeeded = Counter(label: "dispatcher_jobs_succeeded_total", dimensions: labels)
            retried = Counter(label: "dispatcher_jobs_retried_total", dimensions: labels)
            failed = Counter(label: "dispatcher_jobs_failed_total", dimensions: labels)
            released = Counter(label: "dispatcher_jobs_released_total", dimensions: labels)
            startDelay = Timer(
                label: "dispatcher_job_start_delay_seconds", dimensions: labels, preferredDisplayUnit: .seconds)
            pending = Gauge(label: "dispatcher_jobs_pending", dimensions: labels)
            running = Gauge(label: "dispatcher_jobs_running", dimensions: labels)
            channelDepth = Gauge(label: "dispatcher_channel_depth", dimensions: labels)
        }
    }

    let queues: [String: Queue]

    init(queues: [String]) {
        self.queues = Dictionary(queues.map { ($0, Queue(queue: $0)) }, uniquingKeysWith: { first, _ in first })
    }

    func recordCompletions(_ counts: CompletionCounts, queue: String) {
        guard let metrics = queues[queue] else { return }
        metrics.succeeded.increment(by: counts.succeeded)
        metrics.retried.increment(by: counts.retried)
        metrics.failed.increment(by: counts.failed)
        metrics.released.increment(by: counts.released)
    }

    func recordClaimed(_ jobs: [ClaimedJob], queue: String, now: Int64) {
        guard let metrics = queues[queue], !jobs.isEmpty else { return }
        metrics.claimed.increment(by: jobs.count)
        for job in jobs {
            metrics.startDelay.recordMilliseconds(max(0, now - job.runAt))
        }
    }
}
