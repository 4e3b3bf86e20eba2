import Foundation
import Logging
import Testing

@testable import Dispatcher

/// Retention and the job counts, against every store: the pruner deletes exactly what is past
/// its horizon, one daemon prunes at a time, and the counts the triggers keep always equal a
/// full count of the rows.
@Suite("store conformance: retention and job counts", .timeLimit(.minutes(3)))
struct RetentionConformanceTests {
    typealias Store = any DaemonStore & OperatorStore

    /// Finishes one job of `queue` in each terminal state; returns their ids by state.
    static func finishOneOfEach(_ store: Store, queue: String) async throws -> [JobState: Int64] {
        let now = WallClock.nowMilliseconds()
        let ids = try await store.enqueue(
            [
                StoreConformanceTests.job("s", queue: queue), StoreConformanceTests.job("f", queue: queue),
                StoreConformanceTests.job("c", queue: queue),
            ], now: now
        ).map(\.id)
        _ = try await store.cancel(ids: [ids[2]], now: now)
        let claimed = try await StoreConformanceTests.claim(store, queue: queue, limit: 2)
        #expect(claimed.count == 2)
        _ = try await store.complete(
            [.succeeded(id: ids[0], result: nil, note: nil), .failed(id: ids[1], error: "bad")], queue: queue,
            owner: StoreConformanceTests.owner)
        return [.succeeded: ids[0], .failed: ids[1], .cancelled: ids[2]]
    }

    @Test(arguments: StoreKind.withPoolers)
    func thePrunerDeletesExactlyTheJobsPastTheirHorizonPerStateAndQueue(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            var old = [String: [JobState: Int64]]()
            for queue in ["q1", "q2"] { old[queue] = try await Self.finishOneOfEach(store, queue: queue) }
            // Unfinished jobs are never pruned, however old.
            let unfinished = try await store.enqueue(
                [StoreConformanceTests.job("p", queue: "q1", runAt: 0), StoreConformanceTests.job("r", queue: "q2")],
                now: WallClock.nowMilliseconds()
            ).map(\.id)
            _ = try await StoreConformanceTests.claim(store, queue: "q2")
            // The stores stamp finished_at with their own clock: a horizon between the two
            // rounds' ages, with a second to spare on either side for a loaded parallel run.
            try await Task.sleep(for: .milliseconds(2000))
            var recent = [String: [JobState: Int64]]()
            for queue in ["q1", "q2"] { recent[queue] = try await Self.finishOneOfEach(store, queue: queue) }

            let horizon = Duration.milliseconds(1000)
            // q1 follows the defaults; q2 sets its own, the other way round.
            let rules = RetentionRules(
                defaults: RetentionPolicy(succeeded: horizon, failed: nil, cancelled: horizon),
                perQueue: ["q2": RetentionPolicy(succeeded: nil, failed: horizon, cancelled: nil)])
            var configuration = Pruner.Configuration()
            configuration.batchSize = 1
            configuration.pause = .zero
            let pruner = Pruner(
                database: store, rules: rules, configuration: configuration, owner: "daemon-a",
                logger: StoreLocation.silent)
            #expect(try await pruner.pruneOnce() == 3)

            let expectedGone: Set<Int64> = [old["q1"]![.succeeded]!, old["q1"]![.cancelled]!, old["q2"]![.failed]!]
            let all = Set(old.values.flatMap(\.values) + recent.values.flatMap(\.values) + unfinished)
            let remaining = Set(try await store.list(state: nil, queue: nil, limit: 1000).map(\.id))
            #expect(remaining == all.subtracting(expectedGone))
            // Nothing else is past its horizon yet.
            #expect(try await pruner.pruneOnce() == 0)
            try await Self.expectCountsMatchRows(store, context: "after pruning")
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func pruneTakesAtMostItsLimitOldestFirst(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            let ids = try await store.enqueue(
                (0..<5).map { _ in StoreConformanceTests.job() }, now: WallClock.nowMilliseconds()
            ).map(\.id)
            for id in ids {
                _ = try await store.cancel(ids: [id], now: WallClock.nowMilliseconds())
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await store.prune(queue: "default", state: .cancelled, olderThan: 0, limit: 2) == 2)
            #expect(try await store.prune(queue: "other", state: .cancelled, olderThan: 0, limit: 10) == 0)
            #expect(try await store.prune(queue: "default", state: .succeeded, olderThan: 0, limit: 10) == 0)
            #expect(try await store.prune(queue: "default", state: .cancelled, olderThan: 60_000, limit: 10) == 0)
            #expect(try await store.list(state: nil, queue: nil, limit: 10).map(\.id) == Array(ids[2...]))
            #expect(try await store.queues(withJobsIn: .cancelled) == ["default"])
            #expect(try await store.prune(queue: "default", state: .cancelled, olderThan: 0, limit: 10) == 3)
            #expect(try await store.queues(withJobsIn: .cancelled).isEmpty)
            await #expect(throws: DispatcherError.self) {
                try await store.prune(queue: "default", state: .pending, olderThan: 0, limit: 10)
            }
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func maintenanceLeasesHaveOneHolderAtATime(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { first in
            try await database.withStore { second in
                #expect(try await first.acquireMaintenanceLease(name: "pruner", owner: "a", ttl: 60_000))
                #expect(try await !second.acquireMaintenanceLease(name: "pruner", owner: "b", ttl: 60_000))
                // Renewal by the holder; another name is another lease.
                #expect(try await first.acquireMaintenanceLease(name: "pruner", owner: "a", ttl: 60_000))
                #expect(try await second.acquireMaintenanceLease(name: "other", owner: "b", ttl: 60_000))
                // Only the holder releases.
                try await second.releaseMaintenanceLease(name: "pruner", owner: "b")
                #expect(try await !second.acquireMaintenanceLease(name: "pruner", owner: "b", ttl: 60_000))
                try await first.releaseMaintenanceLease(name: "pruner", owner: "a")
                #expect(try await second.acquireMaintenanceLease(name: "pruner", owner: "b", ttl: 1))
                // An expired lease (its holder died) is taken over.
                try await Task.sleep(for: .milliseconds(30))
                #expect(try await first.acquireMaintenanceLease(name: "pruner", owner: "a", ttl: 60_000))
                #expect(try await !second.acquireMaintenanceLease(name: "pruner", owner: "b", ttl: 60_000))
            }
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func twoPrunersOnOneDatabaseDoNotPruneAtOnce(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let total = 120
        try await database.withStore { first in
            let ids = try await first.enqueue(
                (0..<total).map { _ in StoreConformanceTests.job() }, now: WallClock.nowMilliseconds()
            ).map(\.id)
            _ = try await first.cancel(ids: ids, now: WallClock.nowMilliseconds())
            try await Task.sleep(for: .milliseconds(20))
            try await database.withStore { second in
                var configuration = Pruner.Configuration()
                configuration.batchSize = 5
                configuration.pause = .milliseconds(20)
                let rules = RetentionRules(
                    defaults: RetentionPolicy(succeeded: nil, failed: nil, cancelled: .milliseconds(1)))
                let pruners = [(first, "daemon-a"), (second, "daemon-b")].map { store, owner in
                    Pruner(
                        database: store, rules: rules, configuration: configuration, owner: owner,
                        logger: StoreLocation.silent)
                }
                let deleted = try await withThrowingTaskGroup(of: Int.self) { group in
                    for pruner in pruners { group.addTask { try await pruner.pruneOnce() } }
                    var deleted = [Int]()
                    for try await count in group { deleted.append(count) }
                    return deleted
                }
                // Both started together: had both pruned, each would have deleted some batches.
                #expect(deleted.sorted() == [0, total])
                #expect(try await first.list(state: nil, queue: nil, limit: 10).isEmpty)
            }
        }
    }

    // Direct only: its thousands of random operations take a minute per store, and nothing in
    // them differs through a pooler from what the rest of the suite checks there.
    @Test(arguments: StoreKind.available)
    func countsEqualAFullCountAfterRandomOperations(kind: StoreKind) async throws {
        for seed in UInt64(1)...20 {
            let database = try await TestDatabase.make(kind)
            try await database.withStore { store in
                var generator = SplitMix64(seed: seed)
                var operations = RandomOperations(store: store)
                for step in 0..<200 {
                    let name = try await operations.step(using: &generator)
                    if step % 5 == 4 {
                        try await Self.expectCountsMatchRows(store, context: "seed \(seed), step \(step) (\(name))")
                    }
                }
                try await Self.expectCountsMatchRows(store, context: "seed \(seed), end")
            }
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func statisticsReportTheOldestDuePendingJobAcrossPriorities(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            let now = WallClock.nowMilliseconds()
            _ = try await store.enqueue(
                [
                    StoreConformanceTests.job(priority: 9, runAt: now - 1000),
                    StoreConformanceTests.job("oldest", priority: 0, runAt: now - 5000),
                    StoreConformanceTests.job(priority: -3, runAt: now - 3000),
                    StoreConformanceTests.job(priority: 5, runAt: now - 9000 + 60_000_000),
                    StoreConformanceTests.job(queue: "later", priority: 1, runAt: now + 60_000),
                ], now: now)
            let statistics = try await store.statistics(now: now)
            let queues = Dictionary(uniqueKeysWithValues: statistics.queues.map { ($0.queue, $0) })
            // PostgreSQL stores due times by its own clock: compare with the stored value.
            let oldest = try await store.list(state: nil, queue: "default", limit: 10).first { $0.method == "oldest" }
            #expect(queues["default"]?.oldestDueRunAt == oldest?.runAt)
            #expect(oldest != nil)
            #expect(queues["default"]?.count(.pending) == 4)
            #expect(queues["later"]?.oldestDueRunAt == nil)
        }
    }

    /// Compares the counts `stats`, the gauges and the pruner read with a full count of the rows.
    static func expectCountsMatchRows(_ store: Store, context: String) async throws {
        let jobs = try await store.list(state: nil, queue: nil, limit: Int.max)
        var expected = [String: QueueStats]()
        for job in jobs {
            expected[job.queue, default: QueueStats(queue: job.queue)].counts[job.state, default: 0] += 1
            if job.state == .pending && job.attempts > 0 { expected[job.queue]!.retrying += 1 }
        }
        let now = WallClock.nowMilliseconds()
        let counted = try await store.statistics(now: now).queues
        #expect(Set(counted.map(\.queue)) == Set(expected.keys), "\(context)")
        for queue in counted {
            #expect(queue.counts == expected[queue.queue]?.counts, "\(context): counts of \(queue.queue)")
            #expect(queue.retrying == expected[queue.queue]?.retrying ?? 0, "\(context): retrying of \(queue.queue)")
        }
        for (name, queue) in expected {
            let gauges = try await store.pendingAndRunning(queue: name)
            #expect(gauges.pending == queue.count(.pending) && gauges.running == queue.count(.running), "\(context)")
            #expect(try await store.unfinishedCount(queue: name) == queue.count(.pending) + queue.count(.running))
        }
        for state in RetentionPolicy.states {
            let withJobs = Set(expected.values.filter { $0.count(state) > 0 }.map(\.queue))
            #expect(Set(try await store.queues(withJobsIn: state)) == withJobs, "\(context): queues with \(state)")
        }
    }
}

/// A random walk through every transition a job can take, for the counts' property test.
struct RandomOperations {
    let store: any DaemonStore & OperatorStore
    let queues = ["a", "b", "c"]
    let owners = ["o1", "o2"]
    /// Jobs claimed and not yet completed, with their owner and queue.
    var held = [Int64: (owner: String, queue: String)]()

    mutating func step(using generator: inout SplitMix64) async throws -> String {
        let now = WallClock.nowMilliseconds()
        switch Int.random(in: 0..<100, using: &generator) {
        case 0..<22:
            let jobs = (0..<Int.random(in: 1...4, using: &generator)).map { _ in
                NewJob(
                    queue: queues.randomElement(using: &generator)!, method: "m", params: nil,
                    idempotencyKey: Bool.random(using: &generator)
                        ? "k\(Int.random(in: 0..<30, using: &generator))" : nil,
                    priority: Int64.random(in: -1...1, using: &generator),
                    runAt: Int.random(in: 0..<8, using: &generator) == 0 ? now + 60_000 : now - 1, maxAttempts: 2,
                    timeoutMilliseconds: nil)
            }
            _ = try await store.enqueue(jobs, now: now)
            return "enqueue"
        case 22..<42:
            let owner = owners.randomElement(using: &generator)!
            // Some leases expire at once, for the reaper.
            let timeout: Int64 = Bool.random(using: &generator) ? 1 : 60_000
            let queue = queues.randomElement(using: &generator)!
            let claimed = try await store.claim(
                queue: queue, limit: Int.random(in: 1...4, using: &generator), owner: owner, defaultTimeout: timeout,
                leaseMargin: 0
            ).jobs
            for job in claimed { held[job.id] = (owner, queue) }
            return "claim"
        case 42..<64:
            guard !held.isEmpty else { return "complete (none held)" }
            var completions = [Completion]()
            var owner = "o1"
            for (id, holder) in held.sorted(by: { $0.key < $1.key }).prefix(Int.random(in: 1...3, using: &generator)) {
                owner = holder.owner
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: completions.append(.succeeded(id: id, result: nil, note: nil))
                case 1: completions.append(.retry(id: id, error: "503", runAt: now - 1))
                case 2: completions.append(.failed(id: id, error: "bad"))
                default: completions.append(.released(id: id, runAt: now - 1, reason: "breaker"))
                }
            }
            let mine = completions.filter { held[$0.id]?.owner == owner }
            // Now and then a duplicate, which also goes with every other queue's batch as a
            // completion for a job not of that queue: stale, changes nothing.
            let extra: [Completion] = Bool.random(using: &generator) ? mine.prefix(1).map { $0 } : []
            for queue in queues {
                let ofQueue = mine.filter { held[$0.id]?.queue == queue }
                guard !ofQueue.isEmpty else { continue }
                _ = try await store.complete(ofQueue + extra, queue: queue, owner: owner)
            }
            for completion in mine { held[completion.id] = nil }
            return "complete"
        case 64..<70:
            try await Task.sleep(for: .milliseconds(3))
            _ = try await store.reapExpiredLeases()
            let running = try await store.list(state: .state(.running), queue: nil, limit: Int.max)
            held = held.filter { id, _ in running.contains { $0.id == id } }
            return "reap"
        case 70..<78:
            let finished = try await store.list(state: nil, queue: nil, limit: Int.max)
                .filter { $0.state == .failed || $0.state == .cancelled }
            guard !finished.isEmpty else { return "retry (none)" }
            let ids = finished.shuffled(using: &generator).prefix(Int.random(in: 1...3, using: &generator)).map(\.id)
            _ = try await store.retry(ids: ids, now: now)
            return "retry ids"
        case 78..<82:
            _ = try await store.retry(
                state: Bool.random(using: &generator) ? .failed : .cancelled,
                queue: Bool.random(using: &generator) ? nil : queues.randomElement(using: &generator)!, now: now)
            return "retry state"
        case 82..<90:
            let pending = try await store.list(state: .state(.pending), queue: nil, limit: Int.max)
            guard !pending.isEmpty else { return "cancel (none)" }
            let ids = pending.shuffled(using: &generator).prefix(Int.random(in: 1...3, using: &generator)).map(\.id)
            _ = try await store.cancel(ids: ids, now: now)
            return "cancel"
        case 90..<94:
            _ = try await store.purge(
                state: RetentionPolicy.states.randomElement(using: &generator)!, finishedBefore: now + 1)
            return "purge"
        default:
            _ = try await store.prune(
                queue: queues.randomElement(using: &generator)!,
                state: RetentionPolicy.states.randomElement(using: &generator)!, olderThan: 0,
                limit: Int.random(in: 1...3, using: &generator))
            return "prune"
        }
    }
}
