import Logging

/// The daemon's heartbeat and reaper: renews the leases of the jobs this daemon holds, and
/// returns jobs whose lease expired (their daemon died) to pending.
struct LeaseKeeper: Sendable {
    let database: any DaemonStore
    /// The jobs this daemon holds: the only leases it renews.
    let held: HeldJobs
    let configuration: DaemonConfiguration
    /// The longest default timeout among the daemon's queues, for renewing leases.
    let defaultTimeout: Duration
    let health: HealthState
    let logger: Logger

    /// Runs until cancelled.
    func run() async {
        let renewEvery = max(configuration.reapInterval, configuration.leaseMargin / 3)
        let clock = configuration.clock
        var lastRenewal = clock.monotonic()
        while !Task.isCancelled {
            do {
                let reaped = try await database.reapExpiredLeases()
                if reaped > 0 {
                    logger.warning("returned jobs with expired leases to pending", metadata: ["count": "\(reaped)"])
                }
                if clock.monotonic() - lastRenewal >= renewEvery {
                    lastRenewal = clock.monotonic()
                    _ = try await database.renewLeases(
                        owner: configuration.owner, ids: held.snapshot, defaultTimeout: defaultTimeout.milliseconds,
                        leaseMargin: configuration.leaseMargin.milliseconds)
                }
                health.update {
                    $0.storeReachable = true
                    $0.storeError = nil
                }
            } catch {
                health.update {
                    $0.storeReachable = false
                    $0.storeError = "\(error)"
                }
                logger.error("lease maintenance failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: configuration.reapInterval)
        }
    }
}
