import Logging
import TestSupport
import Testing

@testable import Dispatcher

/// `LeaseKeeper` on a manual clock against a real SQLite store: its rounds come when its clock
/// says, not when the real one does.
@Suite("lease keeper, on a manual clock")
struct LeaseKeeperTests {
    @Test func itReapsOnceEveryReapIntervalOfItsClock() async throws {
        let directory = try TemporaryDirectory()
        let store = try await SQLiteStore.open(path: directory.database)
        let manual = ManualDaemonClock()
        var configuration = DaemonConfiguration()
        configuration.clock = manual.clock
        // An hour: a keeper sleeping on the real clock would not reap within the test.
        configuration.reapInterval = .seconds(3600)
        let logger = Logger(label: "test")
        let keeper = LeaseKeeper(
            database: store, held: HeldJobs(), configuration: configuration, defaultTimeout: .seconds(1),
            storeHealth: StoreHealth(classifier: nil, health: HealthState(), clock: manual.clock, logger: logger),
            logger: logger)
        let task = Task { await keeper.run() }
        try await waitUntil(timeout: .seconds(10)) { manual.sleepers == 1 }

        // A job leased to a daemon that died: its lease ran out a second ago.
        _ = try await store.enqueue([NewJob(method: "m", runAt: 0)], now: 0)
        let claimed = try await store.claim(
            queue: "default", limit: 1, owner: "dead", defaultTimeout: 1, leaseMargin: -1000)
        let id = try #require(claimed.jobs.first?.id)
        manual.advance(by: .seconds(3600) - .milliseconds(1))
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await store.job(id: id)?.state == .running)
        manual.advance(by: .milliseconds(1))
        try await waitUntil(timeout: .seconds(10)) { () async -> Bool in
            (try? await store.job(id: id))??.state == .pending
        }

        task.cancel()
        await task.value
        await store.close()
    }
}
