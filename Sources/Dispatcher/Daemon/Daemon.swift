import Logging
import NIOPosix
import ServiceLifecycle
import WorkerPool

/// The long-running dispatcher: per queue a feeder and a worker pool, plus one completer and
/// one lease keeper, all on one database connection.
///
/// On graceful shutdown the feeders stop claiming, each pool hands back its buffered jobs and
/// drains its in-flight calls, the completer writes every last outcome, and `run()` returns
/// with no job left `running` by this daemon.
struct Daemon: Service, CustomStringConvertible {
    let configuration: DaemonConfiguration
    let database: any DaemonStore
    let completer: Completer
    let pools: [any QueuePool]
    let feeders: [Feeder]
    /// One per queue, beside its pool: the queue's slots and the daemon's row in `queue_slots`.
    let slotLeasers: [SlotLeaser]
    let leaseKeeper: LeaseKeeper
    /// Deletes finished jobs past their retention.
    let pruner: Pruner
    /// Enqueues the jobs of the configured schedules (nil without any).
    let scheduler: Scheduler?
    /// Present when metrics are exported.
    let gaugeSampler: GaugeSampler?
    let health: HealthState
    /// SQLite: watches that the file at the database's path is still the one opened; run by
    /// `dispatcher run` beside the daemon (it ends the service group when the file changed).
    let fileGuard: DatabaseFileGuard?
    /// The threads of every queue's upstream connections (`DaemonConfiguration.ioThreads`).
    let upstreamEventLoops: MultiThreadedEventLoopGroup
    let logger: Logger

    var description: String { "Daemon(\(configuration.owner))" }

    func run() async throws {
        logger.info(
            "dispatcher started",
            metadata: [
                "db": "\(configuration.databasePath)", "owner": "\(configuration.owner)",
                "queues": "\(configuration.queues.map(\.startupDescription))",
                "retention": "\(configuration.retentionRules)",
                "schedules": "\(configuration.schedules.map(\.name))",
            ])
        health.update { $0.poolsRunning = true }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await database.run() }
            group.addTask { await completer.run() }
            group.addTask { await leaseKeeper.run() }
            group.addTask { await pruner.run() }
            if let scheduler {
                group.addTask { await scheduler.run() }
            }
            if let gaugeSampler {
                group.addTask { await gaugeSampler.run() }
            }
            // /healthz says 503 from the moment the drain begins.
            await withGracefulShutdownHandler {
                await runQueues()
            } onGracefulShutdown: {
                health.update { $0.draining = true }
            }
            health.update { $0.poolsRunning = false }
            // Every worker is done: write the last outcomes, then stop the lease keeper.
            completer.finish()
            await group.next()
            group.cancelAll()
        }
        completer.storeHealth.finish()
        let opened = pools.map(\.currentStatistics.connectionsOpened).reduce(0, +)
        let calls = pools.map(\.currentStatistics.calls).reduce(0, +)
        logger.info("dispatcher stopped", metadata: ["calls": "\(calls)", "connections_opened": "\(opened)"])
        await database.close()
        // Every connection is closed by now: the pools have returned.
        try? await upstreamEventLoops.shutdownGracefully()
    }

    /// Runs every queue's pool and feeder until they are all done.
    private func runQueues() async {
        await withTaskGroup(of: Void.self) { queues in
            for (pool, leaser) in zip(pools, slotLeasers) {
                queues.addTask {
                    // The leaser outlives the pool's drain (its last calls hold slots), then
                    // gives the slots back.
                    await withTaskGroup(of: Void.self) { queue in
                        queue.addTask { await leaser.run() }
                        do {
                            try await pool.run()
                        } catch {
                            logger.error("worker pool failed", metadata: ["error": "\(error)"])
                        }
                        queue.cancelAll()
                    }
                }
            }
            for feeder in feeders {
                queues.addTask { await feeder.run() }
            }
        }
    }
}
