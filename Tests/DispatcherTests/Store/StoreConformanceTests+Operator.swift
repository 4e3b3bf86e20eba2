import Foundation
import Testing

@testable import Dispatcher

/// The operator's side of the contract: pausing, and the dashboard's reads.
extension StoreConformanceTests {
    @Test(arguments: StoreKind.withPoolers)
    func aPausedQueueIsNotClaimedUntilResumed(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            let now = WallClock.nowMilliseconds()
            _ = try await store.enqueue([Self.job("a"), Self.job("b", queue: "other")], now: now)
            #expect(try await store.setPaused(true, queue: "default", now: now))
            #expect(try await !store.setPaused(true, queue: "default", now: now), "already paused")
            #expect(try await Self.claim(store).isEmpty)
            #expect(try await store.nextDue(queue: "default") == nil, "nothing is due in a paused queue")
            #expect(try await Self.claim(store, queue: "other").map(\.method) == ["b"], "other queues go on")
            let statistics = try await store.statistics(now: WallClock.nowMilliseconds())
            #expect(statistics.paused == ["default"])
            #expect(try await store.setPaused(false, queue: "default", now: now))
            #expect(try await !store.setPaused(false, queue: "default", now: now), "not paused any more")
            #expect(try await Self.claim(store).map(\.method) == ["a"])
            #expect(try await store.statistics(now: WallClock.nowMilliseconds()).paused.isEmpty)
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func failedJobsComeNewestFirstAndFinishedJobsCountPerMinute(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await database.withStore { store in
            let now = WallClock.nowMilliseconds()
            _ = try await store.enqueue(
                (0..<5).map { Self.job("m\($0)", maxAttempts: 1) } + [Self.job("x", queue: "other", maxAttempts: 1)],
                now: now)
            let claimed = try await Self.claim(store) + Self.claim(store, queue: "other")
            let completions = claimed.map { job -> Completion in
                job.method == "m0"
                    ? .succeeded(id: job.id, result: Array("1".utf8), note: nil)
                    : .failed(id: job.id, error: "boom \(job.method)")
            }
            _ = try await store.complete(
                Array(completions.prefix(5)), queue: "default", owner: Self.owner)
            _ = try await store.complete(
                Array(completions.suffix(1)), queue: "other", owner: Self.owner)
            let failed = try await store.failedJobs(queue: nil, offset: 0, limit: 10)
            #expect(failed.map(\.id) == failed.map(\.id).sorted(by: >))
            #expect(failed.count == 5)
            #expect(try await store.failedJobs(queue: "default", offset: 0, limit: 10).count == 4)
            let page = try await store.failedJobs(queue: "default", offset: 1, limit: 2)
            #expect(page.map(\.method) == ["m3", "m2"])
            let perMinute = try await store.finishedPerMinute(now: WallClock.nowMilliseconds() + 1000, minutes: 60)
            #expect(perMinute["default"]?.count == 60)
            #expect(perMinute["default"]?.reduce(0, +) == 5)
            #expect(perMinute["default"]?.last == 5, "finished in the current minute")
            #expect(perMinute["other"]?.reduce(0, +) == 1)
        }
    }
}
