import Logging
import NIOPosix
import WorkerPool

extension Daemon {
    /// Wires a daemon from its configuration: opens (and migrates) the database and builds a
    /// pool and a feeder per queue. `dispatcher run` and the tests both start here.
    static func build(
        configuration: DaemonConfiguration, logger: Logger, health: HealthState = HealthState(),
        liveQueues: LiveQueueBoard? = nil
    ) async throws
        -> Daemon
    {
        guard !configuration.queues.isEmpty else { throw DispatcherError("no queue configured") }
        var seen = Set<String>()
        for queue in configuration.queues {
            guard seen.insert(queue.name).inserted else {
                throw DispatcherError("queue '\(queue.name)' is configured twice")
            }
            guard (1...1024).contains(queue.workers) else {
                throw DispatcherError("workers must be between 1 and 1024")
            }
        }
        // Every queue's upstream connections share these threads; the daemon shuts them down
        // when it stops (or here, when it cannot be built).
        let upstreamEventLoops = MultiThreadedEventLoopGroup(numberOfThreads: configuration.ioThreads)
        let poolMakers: [TransportFactory.PoolMaker]
        let database: any DaemonStore
        do {
            poolMakers = try configuration.queues.map {
                try TransportFactory.prepare($0, eventLoops: upstreamEventLoops)
            }
            database = try await configuration.store.openDaemonStore(
                pollInterval: configuration.pollInterval, listenURL: configuration.listenDatabase, logger: logger)
        } catch {
            try? await upstreamEventLoops.shutdownGracefully()
            throw error
        }
        // Right after opening: the identity of the file the store holds.
        let fileGuard = DatabaseFileGuard(
            watching: database.guardedFile, health: health, logger: logger, clock: configuration.clock)
        let storeHealth = StoreHealth(
            classifier: database, health: health, clock: configuration.clock,
            logger: logger)
        let metrics = DaemonMetrics(queues: configuration.queues.map(\.name))
        let completer = Completer(
            database: database, owner: configuration.owner, queues: configuration.queues, logger: logger,
            metrics: metrics, clock: configuration.clock, storeHealth: storeHealth)
        var pools = [any QueuePool]()
        var feeders = [Feeder]()
        var slotLeasers = [SlotLeaser]()
        // Queues that call one upstream share its breaker: one outage, one breaker, one warning.
        var breakers = [UpstreamURL: UpstreamBreaker]()
        for (queue, makePool) in zip(configuration.queues, poolMakers) {
            var poolConfiguration = WorkerPoolConfiguration(workers: queue.workers, label: queue.name)
            poolConfiguration.channelCapacity = queue.effectiveChannelCapacity
            poolConfiguration.drainTimeout = configuration.drainTimeout
            poolConfiguration.breaker = queue.breaker
            poolConfiguration.rateLimit = queue.rateLimit
            poolConfiguration.adaptiveConcurrency = queue.concurrency == .adaptive
            poolConfiguration.leasesSlots = queue.maxInFlight != nil
            let breaker =
                breakers[queue.upstream]
                ?? UpstreamBreaker(upstream: queue.upstream.description, configuration: queue.breaker, logger: logger)
            breakers[queue.upstream] = breaker
            let name = queue.name
            let pool = makePool(poolConfiguration, logger, breaker, { completer.record($0, queue: name) })
            pools.append(pool)
            var queueLogger = logger
            queueLogger[metadataKey: "queue"] = "\(queue.name)"
            feeders.append(
                Feeder(
                    queue: queue, pool: pool, database: database, completer: completer, configuration: configuration,
                    metrics: metrics, storeHealth: storeHealth, logger: queueLogger))
            slotLeasers.append(
                SlotLeaser(
                    queue: queue, gate: pool.concurrencyGate, callsInFlight: { pool.currentStatistics.callsInFlight },
                    store: database, owner: configuration.owner,
                    lease: configuration.leaseMargin, clock: configuration.clock, storeHealth: storeHealth))
        }
        let leaseKeeper = LeaseKeeper(
            database: database, held: completer.held, configuration: configuration,
            defaultTimeout: configuration.queues.map(\.timeout).max() ?? .seconds(10), storeHealth: storeHealth,
            logger: logger)
        let gaugeSampler =
            configuration.sampleGauges
            ? GaugeSampler(
                database: database, queues: Array(zip(configuration.queues.map(\.name), pools)), metrics: metrics,
                interval: .seconds(1), liveQueues: liveQueues, clock: configuration.clock)
            : nil
        let pruner = Pruner(
            database: database, rules: configuration.retentionRules, configuration: configuration.pruner,
            owner: configuration.owner, logger: logger, storeHealth: storeHealth, clock: configuration.clock)
        let served = Set(configuration.queues.map(\.name))
        for schedule in configuration.schedules where !served.contains(schedule.queue) {
            logger.warning(
                "schedule enqueues into a queue this daemon does not serve: another daemon must",
                metadata: ["schedule": "\(schedule.name)", "queue": "\(schedule.queue)"])
        }
        let scheduler =
            configuration.schedules.isEmpty
            ? nil
            : Scheduler(
                schedules: configuration.schedules, database: database, clock: configuration.clock, logger: logger,
                storeHealth: storeHealth)
        return Daemon(
            configuration: configuration, database: database, completer: completer, pools: pools, feeders: feeders,
            slotLeasers: slotLeasers, leaseKeeper: leaseKeeper, pruner: pruner, scheduler: scheduler,
            gaugeSampler: gaugeSampler, health: health,
            fileGuard: fileGuard, upstreamEventLoops: upstreamEventLoops, logger: logger)
    }
}
