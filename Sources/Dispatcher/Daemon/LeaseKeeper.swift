import Logging
import WorkerPool

/// The daemon's heartbeat and reaper: renews the leases of the jobs this daemon holds, and
/// returns jobs whose lease expired (their daemon died) to pending.
struct LeaseKeeper: Sendable {
    let database: any DaemonStore
    /// The jobs this daemon holds: the only leases it renews.
    let held: HeldJobs
    let configuration: DaemonConfiguration
    /// The longest default timeout among the daemon's queues, for renewing leases.
    let defaultTimeout: Duration
    /// Where the outcome of every reap and renewal is reported (and so `/healthz`'s store state).
    let storeHealth: StoreHealth
    let logger: Logger

    /// Runs until cancelled.
    func run() async {
        let renewEvery = max(configuration.reapInterval, configuration.leaseMargin / 3)
        let clock = configuration.clock
        var lastRenewal = clock.monotonic()
        while !Task.isCancelled {
            let reapBegan = storeHealth.begin()
            do {
                let reaped = try await database.reapExpiredLeases()
                storeHealth.succeeded(.reap, wrote: reaped > 0)
                if reaped > 0 {
                    logger.warning("returned jobs with expired leases to pending", metadata: ["count": "\(reaped)"])
                }
            } catch {
                storeHealth.failed(.reap, error: error, began: reapBegan)
            }
            if clock.monotonic() - lastRenewal >= renewEvery {
                let renewBegan = storeHealth.begin()
                do {
                    let ids = held.snapshot
                    let renewed = try await database.renewLeases(
                        owner: configuration.owner, ids: ids, defaultTimeout: defaultTimeout.wholeMilliseconds,
                        leaseMargin: configuration.leaseMargin.wholeMilliseconds)
                    // Renewing nothing proves nothing: no statement ran.
                    if !ids.isEmpty { storeHealth.succeeded(.renewLeases, wrote: renewed > 0) }
                    lastRenewal = clock.monotonic()
                } catch {
                    storeHealth.failed(.renewLeases, error: error, began: renewBegan)
                }
            }
            try? await clock.sleep(configuration.reapInterval)
        }
    }
}
