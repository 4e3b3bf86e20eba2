import Foundation
import Testing

@testable import Dispatcher

/// The same tests against every store (as river's `riverdrivertest`): what the daemon and the
/// commands rely on, stated once. A store that passes these can sit behind the seam.
@Suite("store conformance", .timeLimit(.minutes(3)))
struct StoreConformanceTests {
    static let owner = "daemon-a"

    static func job(
        _ method: String = "work", queue: String = "default", priority: Int64 = 0, runAt: Int64? = nil,
        key: String? = nil, maxAttempts: Int64? = nil, timeout: Int64? = nil
    ) -> NewJob {
        NewJob(
            queue: queue, method: method, params: "[1]", idempotencyKey: key, priority: priority,
            runAt: runAt ?? WallClock.nowMilliseconds(), maxAttempts: maxAttempts, timeoutMilliseconds: timeout)
    }

    static func claim(
        _ store: any DaemonStore, queue: String = "default", limit: Int = 100, owner: String = owner,
        timeout: Int64 = 10_000, margin: Int64 = 15_000
    ) async throws -> [ClaimedJob] {
        try await store.claim(queue: queue, limit: limit, owner: owner, defaultTimeout: timeout, leaseMargin: margin)
            .jobs
    }

    @Test(arguments: StoreKind.withPoolers)
    func claimsByPriorityThenDueTimeThenId(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            let now = WallClock.nowMilliseconds()
            let ids = try await store.enqueue(
                [
                    Self.job("low-old", priority: 0, runAt: now - 5000),
                    Self.job("high-new", priority: 5, runAt: now - 1000),
                    Self.job("high-old", priority: 5, runAt: now - 2000),
                    Self.job("low-new", priority: 0, runAt: now - 1000),
                    Self.job("low-new-2", priority: 0, runAt: now - 1000),
                    Self.job("other-queue", queue: "other", priority: 9, runAt: now - 9000),
                ], now: now
            ).map(\.id)
            #expect(Set(ids).count == 6)
            let first = try await Self.claim(store, limit: 3)
            #expect(first.map(\.method) == ["high-old", "high-new", "low-old"])
            let rest = try await Self.claim(store, limit: 10)
            #expect(rest.map(\.method) == ["low-new", "low-new-2"])
            #expect(rest[0].id < rest[1].id)
            #expect(first.allSatisfy { $0.attempt == 1 })
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func claimsOnlyDueJobsAndReportsTheNextDueTime(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            #expect(try await store.nextDue(queue: "default") == nil)
            let now = WallClock.nowMilliseconds()
            _ = try await store.enqueue([Self.job("later", runAt: now + 60_000)], now: now)
            #expect(try await Self.claim(store).isEmpty)
            let due = try #require(try await store.nextDue(queue: "default"))
            #expect(due > .seconds(50) && due <= .seconds(60))
            _ = try await store.enqueue([Self.job("now")], now: WallClock.nowMilliseconds())
            #expect(try await store.nextDue(queue: "default") == .zero)
            #expect(try await Self.claim(store).map(\.method) == ["now"])
            #expect(try await store.unfinishedCount(queue: "default") == 2)
            let counts = try await store.pendingAndRunning(queue: "default")
            #expect(counts.pending == 1 && counts.running == 1)
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func concurrentClaimersNeverShareAJob(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let total = 600
        try await database.withStore { first in
            _ = try await first.enqueue((0..<total).map { _ in Self.job() }, now: WallClock.nowMilliseconds())
            try await database.withStore { second in
                let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
                    for (index, store) in [first, second, first, second].enumerated() {
                        group.addTask {
                            var ids = [Int64]()
                            for _ in 0..<total {
                                let jobs = try await Self.claim(store, limit: 7, owner: "claimer-\(index)")
                                if jobs.isEmpty { break }
                                ids += jobs.map(\.id)
                            }
                            return ids
                        }
                    }
                    var all = [Int64]()
                    for try await ids in group { all += ids }
                    return all
                }
                #expect(claimed.count == total)
                #expect(Set(claimed).count == total)
            }
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func lateAndDuplicateCompletionsAreCountedStale(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            _ = try await store.enqueue([Self.job(), Self.job(), Self.job()], now: WallClock.nowMilliseconds())
            let jobs = try await Self.claim(store)
            #expect(jobs.count == 3)
            let counts = try await store.complete(
                [
                    .succeeded(id: jobs[0].id, result: Array("{\"ok\":1}".utf8), note: nil),
                    .succeeded(id: jobs[0].id, result: nil, note: nil),
                    .failed(id: jobs[1].id, error: "bad params"),
                ], queue: "default", owner: Self.owner)
            #expect(counts == CompletionCounts(succeeded: 1, retried: 0, failed: 1, released: 0, stale: 1))
            let again = try await store.complete(
                [.succeeded(id: jobs[1].id, result: nil, note: nil)], queue: "default", owner: Self.owner)
            #expect(again.stale == 1 && again.succeeded == 0)
            let wrongOwner = try await store.complete(
                [.succeeded(id: jobs[2].id, result: nil, note: nil)], queue: "default", owner: "someone-else")
            #expect(wrongOwner.stale == 1)
            let wrongQueue = try await store.complete(
                [.succeeded(id: jobs[2].id, result: nil, note: nil)], queue: "elsewhere", owner: Self.owner)
            #expect(wrongQueue.stale == 1)
            #expect(try await store.job(id: jobs[2].id)?.state == .running)
            let done = try #require(try await store.job(id: jobs[0].id))
            #expect(done.state == .succeeded && done.result == "{\"ok\":1}" && done.leaseOwner == nil)
            #expect(done.finishedAt != nil)
            let failed = try #require(try await store.job(id: jobs[1].id))
            #expect(failed.state == .failed && failed.lastError == "bad params")
            #expect(try await store.job(id: jobs[2].id)?.state == .running)
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func aLargeMixedBatchAppliesInOrderWithEveryGuard(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            let now = WallClock.nowMilliseconds()
            _ = try await store.enqueue((0..<150).map { _ in Self.job() }, now: now)
            let jobs = try await Self.claim(store, limit: 150)
            #expect(jobs.count == 150)
            let ids = jobs.map(\.id).sorted()
            // Another daemon's lease: its success must be ignored.
            let foreign = try await store.enqueue([Self.job(queue: "foreign", runAt: now - 60_000)], now: now)[0].id
            let foreignClaim = try await Self.claim(store, queue: "foreign", owner: "daemon-b")
            #expect(foreignClaim.map(\.id) == [foreign])
            var batch = [Completion]()
            // 130 successes (more than one statement's worth), with a duplicate and a foreign
            // job among them, a retry and a release in the middle, and a success after the retry
            // of the same job (stale: the retry made it pending).
            for (index, id) in ids.prefix(130).enumerated() {
                batch.append(.succeeded(id: id, result: Array("[\(index)]".utf8), note: index == 3 ? "note" : nil))
                if index == 10 { batch.append(.succeeded(id: ids[5], result: nil, note: nil)) }
                if index == 70 {
                    batch.append(.succeeded(id: foreign, result: nil, note: nil))
                    batch.append(.retry(id: ids[140], error: "busy", runAt: now))
                    batch.append(.released(id: ids[141], runAt: now, reason: nil))
                    batch.append(.succeeded(id: ids[140], result: nil, note: nil))
                }
            }
            batch.append(.failed(id: ids[142], error: "bad"))
            let counts = try await store.complete(batch, queue: "default", owner: Self.owner)
            #expect(counts == CompletionCounts(succeeded: 130, retried: 1, failed: 1, released: 1, stale: 3))
            let rows = Dictionary(uniqueKeysWithValues: try await database.jobs().map { ($0.id, $0) })
            for (index, id) in ids.prefix(130).enumerated() {
                #expect(rows[id]?.state == .succeeded && rows[id]?.result == "[\(index)]")
                #expect(rows[id]?.leaseOwner == nil && rows[id]?.finishedAt != nil)
            }
            #expect(rows[ids[3]]?.lastError == "note")
            #expect(rows[ids[140]]?.state == .pending && rows[ids[140]]?.lastError == "busy")
            #expect(rows[ids[141]]?.state == .pending && rows[ids[141]]?.attempts == 0)
            #expect(rows[ids[142]]?.state == .failed)
            #expect(rows[ids[143]]?.state == .running)
            #expect(rows[foreign]?.state == .running, "\(String(describing: rows[foreign]))")
            #expect(rows[foreign]?.leaseOwner == "daemon-b")
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func aRetryIsPendingAgainAndAFailureIsFinal(kind: StoreKind) async throws {
        // Whether attempts are left is `JobLife`'s decision (JobLifeTests); the store writes
        // what it is given, and hands the job's own limit back with each claim.
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            _ = try await store.enqueue(
                [Self.job("own-limit", maxAttempts: 2), Self.job("queue-default")], now: WallClock.nowMilliseconds())
            var claimed = try await Self.claim(store)
            #expect(claimed.first { $0.method == "own-limit" }?.maxAttempts == 2)
            #expect(claimed.first { $0.method == "queue-default" }?.maxAttempts == nil)
            let past = WallClock.nowMilliseconds() - 1
            var counts = try await store.complete(
                claimed.map { .retry(id: $0.id, error: "HTTP 503", runAt: past) }, queue: "default", owner: Self.owner)
            #expect(counts.retried == 2)
            let retrying = try await store.list(state: .retrying, queue: nil, limit: 10)
            #expect(retrying.count == 2 && retrying.allSatisfy { $0.lastError == "HTTP 503" && $0.attempts == 1 })
            claimed = try await Self.claim(store)
            #expect(claimed.allSatisfy { $0.attempt == 2 })
            let own = try #require(claimed.first { $0.method == "own-limit" })
            let other = try #require(claimed.first { $0.method == "queue-default" })
            counts = try await store.complete(
                [.failed(id: own.id, error: "HTTP 503"), .retry(id: other.id, error: "HTTP 503", runAt: past)],
                queue: "default", owner: Self.owner)
            #expect(counts.failed == 1 && counts.retried == 1)
            let jobs = try await store.list(state: nil, queue: nil, limit: 10)
            let failed = try #require(jobs.first { $0.method == "own-limit" })
            #expect(failed.state == .failed && failed.finishedAt != nil && failed.attempts == 2)
            #expect(failed.lastError == "HTTP 503")
            let pending = try #require(jobs.first { $0.method == "queue-default" })
            #expect(pending.state == .pending && pending.isRetrying && pending.finishedAt == nil)
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func releaseDoesNotCountAnAttempt(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            _ = try await store.enqueue([Self.job()], now: WallClock.nowMilliseconds())
            let job = try #require(try await Self.claim(store).first)
            let counts = try await store.complete(
                [.released(id: job.id, runAt: WallClock.nowMilliseconds() - 1, reason: "breaker open")],
                queue: "default", owner: Self.owner)
            #expect(counts.released == 1)
            let stored = try #require(try await store.job(id: job.id))
            #expect(stored.state == .pending && stored.attempts == 0 && stored.leaseOwner == nil)
            #expect(try await Self.claim(store).first?.attempt == 1)
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func theReaperReturnsExpiredLeasesAndRenewalKeepsLiveOnes(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            _ = try await store.enqueue(
                [Self.job("dead"), Self.job("alive"), Self.job("orphan")], now: WallClock.nowMilliseconds())
            let dead = try await Self.claim(store, limit: 1, owner: "crashed", timeout: 1, margin: 0)
            let alive = try await Self.claim(store, limit: 2, owner: "live", timeout: 1, margin: 0)
            #expect(dead.count == 1 && alive.count == 2)
            // The live daemon renews only what it holds; "orphan" was leased to it but never
            // received (a claim whose answer was lost), so its lease runs out.
            #expect(
                try await store.renewLeases(owner: "live", ids: [alive[0].id], defaultTimeout: 60_000, leaseMargin: 0)
                    == 1)
            #expect(try await store.renewLeases(owner: "live", ids: [], defaultTimeout: 60_000, leaseMargin: 0) == 0)
            #expect(
                try await store.renewLeases(owner: "other", ids: [alive[0].id], defaultTimeout: 1, leaseMargin: 0) == 0)
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await store.reapExpiredLeases() == 2)
            #expect(try await store.job(id: alive[1].id)?.state == .pending)
            let reaped = try #require(try await store.job(id: dead[0].id))
            #expect(reaped.state == .pending && reaped.attempts == 1 && reaped.leaseOwner == nil)
            #expect(reaped.lastError == JobRules.leaseExpiredError)
            #expect(try await store.job(id: alive[0].id)?.state == .running)
            // The crashed daemon's late completion changes nothing.
            let late = try await store.complete(
                [.succeeded(id: dead[0].id, result: nil, note: nil)], queue: "default", owner: "crashed")
            #expect(late.stale == 1)
            #expect(try await store.reapExpiredLeases() == 0)
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func idempotencyKeysReturnTheExistingJob(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            let now = WallClock.nowMilliseconds()
            let first = try await store.enqueue([Self.job(key: "k1"), Self.job(), Self.job(key: "k2")], now: now)
            #expect(first.allSatisfy { $0.created })
            #expect(first.map(\.id) == first.map(\.id).sorted())
            let second = try await store.enqueue(
                [Self.job(key: "k2"), Self.job(key: "k3"), Self.job(key: "k3"), Self.job(queue: "other", key: "k1")],
                now: now)
            #expect(second[0] == EnqueueResult(id: first[2].id, created: false))
            #expect(second[1].created && second[2] == EnqueueResult(id: second[1].id, created: false))
            #expect(second[3].created && second[3].id != first[0].id)
            #expect(try await store.list(state: nil, queue: nil, limit: 100).count == 5)
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func batchEnqueueReturnsIdsInInputOrder(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            let jobs = (0..<2_000).map { index in
                var job = Self.job("m\(index)", key: index % 500 == 7 ? "key-\(index)" : nil)
                job.params = index % 3 == 0 ? nil : "[\(index)]"
                return job
            }
            let results = try await store.enqueue(jobs, now: WallClock.nowMilliseconds())
            #expect(results.count == jobs.count && results.allSatisfy { $0.created })
            for index in [0, 1, 7, 1_000, 1_507, 1_999] {
                let stored = try #require(try await store.job(id: results[index].id))
                #expect(stored.method == "m\(index)")
                #expect(stored.params == jobs[index].params)
            }
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func operatorChangesAreAllOrNothing(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            let ids = try await store.enqueue([Self.job(), Self.job(), Self.job()], now: WallClock.nowMilliseconds())
                .map(\.id)
            let running = try #require(try await Self.claim(store, limit: 1).first)
            let pending = ids.filter { $0 != running.id }
            await #expect(throws: DispatcherError.self) { try await store.cancel(ids: pending + [running.id], now: 0) }
            await #expect(throws: DispatcherError.self) { try await store.cancel(ids: [999_999], now: 0) }
            #expect(try await store.list(state: .state(.cancelled), queue: nil, limit: 10).isEmpty)
            #expect(try await store.cancel(ids: pending, now: WallClock.nowMilliseconds()) == 2)
            await #expect(throws: DispatcherError.self) { try await store.retry(ids: [running.id], now: 0) }
            #expect(try await store.retry(ids: [pending[0]], now: WallClock.nowMilliseconds()) == 1)
            let retried = try #require(try await store.job(id: pending[0]))
            #expect(retried.state == .pending && retried.attempts == 0 && retried.finishedAt == nil)
            #expect(try await store.retry(state: .cancelled, queue: nil, now: WallClock.nowMilliseconds()) == 1)
            await #expect(throws: DispatcherError.self) {
                try await store.retry(state: .pending, queue: nil, now: 0)
            }
            await #expect(throws: DispatcherError.self) {
                try await store.purge(state: .running, finishedBefore: Int64.max)
            }
            _ = try await store.complete(
                [.succeeded(id: running.id, result: nil, note: nil)], queue: "default", owner: Self.owner)
            let past = WallClock.nowMilliseconds() - 60_000
            #expect(try await store.purge(state: .succeeded, finishedBefore: past) == 0)
            try await Task.sleep(for: .milliseconds(5))
            #expect(try await store.purge(state: .succeeded, finishedBefore: WallClock.nowMilliseconds() + 1_000) == 1)
            #expect(try await store.job(id: running.id) == nil)
            #expect(try await store.list(state: nil, queue: nil, limit: 10).count == 2)
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func statisticsCountEveryStateAndTheLastMinute(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            let now = WallClock.nowMilliseconds()
            _ = try await store.enqueue(
                (0..<5).map { _ in Self.job() } + [Self.job(queue: "later", runAt: now + 3_600_000)], now: now)
            let claimed = try await Self.claim(store, limit: 4)
            _ = try await store.complete(
                [
                    .succeeded(id: claimed[0].id, result: nil, note: nil),
                    .succeeded(id: claimed[1].id, result: nil, note: nil),
                    .failed(id: claimed[2].id, error: "boom"),
                    .retry(id: claimed[3].id, error: "again", runAt: now - 1),
                ], queue: "default", owner: Self.owner)
            let statistics = try await store.statistics(now: WallClock.nowMilliseconds())
            let queue = try #require(statistics.queues.first { $0.queue == "default" })
            #expect(queue.count(.pending) == 2 && queue.retrying == 1)
            #expect(queue.count(.succeeded) == 2 && queue.count(.failed) == 1 && queue.count(.running) == 0)
            #expect(queue.oldestDueRunAt != nil)
            let later = try #require(statistics.queues.first { $0.queue == "later" })
            #expect(later.count(.pending) == 1 && later.oldestDueRunAt == nil)
            let activity = try #require(statistics.activity["default"])
            #expect(activity.succeeded == 2 && activity.failed == 1)
            #expect(activity.runP50 != nil && activity.waitP99 != nil)
            let failures = try await store.recentFailures(limit: 5)
            #expect(failures.map(\.error) == ["boom"])
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func anEnqueueElsewhereWakesTheNotifier(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { daemon in
            // Let a listener connect first, so only the enqueue's notification can wake it.
            try await Task.sleep(for: .milliseconds(300))
            let changes = daemon.changes
            let mark = await changes.mark()
            try await database.withStore { other in
                _ = try await other.enqueue([Self.job()], now: WallClock.nowMilliseconds())
            }
            let woke = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    await changes.wait(after: mark)
                    return !Task.isCancelled
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(10))
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            #expect(woke, "no wake-up within 10 s of an enqueue by another connection")
        }
    }
}
