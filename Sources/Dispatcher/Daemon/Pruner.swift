import CoreMetrics
import Logging
import WorkerPool

/// Deletes finished jobs past their retention (`--retain-succeeded` and friends), so the jobs
/// table of a busy queue stops growing without bound.
///
/// Every `interval` the pruner takes the database's `pruner` maintenance lease (one daemon at a
/// time among those sharing the database; the lease outlives a crashed holder by at most
/// `leaseDuration`), then, per terminal state and per queue that has such jobs (from the job
/// counts), deletes the oldest ones past the queue's horizon in batches of `batchSize`, each its
/// own short transaction with a `pause` between them: claims and completions queue behind one
/// batch at most, never behind the whole prune. The lease is renewed before every batch and
/// released at the end of the round.
struct Pruner: Sendable {
    /// How the pruner paces its work.
    struct Configuration: Sendable, Equatable {
        /// How often a round starts (the first starts when the daemon does).
        var interval: Duration = .seconds(60)
        /// Jobs deleted per transaction.
        var batchSize = 1000
        /// Rest between two batches, so claims and completions get the database in between.
        var pause: Duration = .milliseconds(20)
        /// How long the maintenance lease lasts unless renewed (before each batch).
        var leaseDuration: Duration = .seconds(60)
    }

    /// The maintenance lease the pruners of every daemon on one database take turns with.
    static let leaseName = "pruner"

    let database: any DaemonStore
    let rules: RetentionRules
    let configuration: Configuration
    /// The lease owner: the daemon's own id.
    let owner: String
    let logger: Logger
    /// Where failed rounds are reported, so a store outage stays one error line for the whole
    /// daemon; without it (tests) a failed round is a warning of its own.
    let storeHealth: StoreHealth?
    let pruned: [JobState: Counter]
    /// What the pauses between rounds and batches are waited on.
    let clock: DaemonClock

    init(
        database: any DaemonStore, rules: RetentionRules, configuration: Configuration = Configuration(),
        owner: String, logger: Logger, storeHealth: StoreHealth? = nil, clock: DaemonClock = DaemonClock()
    ) {
        self.database = database
        self.clock = clock
        self.storeHealth = storeHealth
        self.rules = rules
        self.configuration = configuration
        self.owner = owner
        self.logger = logger
        pruned = Dictionary(
            uniqueKeysWithValues: RetentionPolicy.states.map {
                ($0, Counter(label: "dispatcher_jobs_pruned_total", dimensions: [("state", $0.rawValue)]))
            })
    }

    /// Runs rounds until cancelled; errors are logged and the next round tries again.
    ///
    /// Returns only when cancelled (even with nothing to prune), like the daemon's other
    /// background tasks, which the daemon ends together.
    func run() async {
        while !Task.isCancelled {
            if rules.prunesAnything {
                let began = storeHealth?.begin()
                do {
                    let deleted = try await pruneOnce()
                    storeHealth?.succeeded(.prune, wrote: deleted > 0)
                } catch {
                    if let storeHealth {
                        storeHealth.failed(.prune, error: error, began: began)
                    } else {
                        logger.warning("pruning finished jobs failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            try? await clock.sleep(configuration.interval)
        }
    }

    /// One round: takes the lease (or returns 0 when another daemon holds it), prunes every
    /// queue and terminal state past its horizon, and releases the lease. Returns the number of
    /// jobs deleted.
    func pruneOnce() async throws -> Int {
        let ttl = configuration.leaseDuration.wholeMilliseconds
        guard try await database.acquireMaintenanceLease(name: Self.leaseName, owner: owner, ttl: ttl) else {
            logger.debug("another daemon is pruning")
            return 0
        }
        var total = 0
        var byState = [JobState: Int]()
        do {
            rounds: for state in RetentionPolicy.states {
                for queue in try await database.queues(withJobsIn: state) {
                    guard let horizon = rules.horizon(queue: queue, state: state) else { continue }
                    while true {
                        if Task.isCancelled { break rounds }
                        let deleted = try await database.prune(
                            queue: queue, state: state, olderThan: horizon.wholeMilliseconds,
                            limit: configuration.batchSize)
                        total += deleted
                        byState[state, default: 0] += deleted
                        pruned[state]?.increment(by: deleted)
                        if deleted < configuration.batchSize { break }
                        try? await clock.sleep(configuration.pause)
                        // Renewed before each batch: a prune longer than the lease must not let a
                        // second daemon start beside this one.
                        guard
                            try await database.acquireMaintenanceLease(name: Self.leaseName, owner: owner, ttl: ttl)
                        else {
                            logger.warning("lost the pruner lease to another daemon; stopping this round")
                            break rounds
                        }
                    }
                }
            }
        } catch {
            try? await database.releaseMaintenanceLease(name: Self.leaseName, owner: owner)
            throw error
        }
        try await database.releaseMaintenanceLease(name: Self.leaseName, owner: owner)
        if total > 0 {
            logger.info(
                "pruned finished jobs past their retention",
                metadata: [
                    "count": "\(total)", "succeeded": "\(byState[.succeeded] ?? 0)",
                    "failed": "\(byState[.failed] ?? 0)", "cancelled": "\(byState[.cancelled] ?? 0)",
                ])
        }
        return total
    }
}
