import Logging
import Synchronization
import TestSupport
import Testing
import WorkerPool

@testable import Dispatcher

/// `SlotLeaser` on a manual clock against a store that records what it is asked: when it
/// renews, what it says, and what it does with the answer.
@Suite("slot leaser, event by event")
struct SlotLeaserTests {
    /// Records the renewals and answers with `grant`, or fails while `failing`.
    final class RecordingSlotStore: SlotStore {
        struct State {
            var renewals: [SlotRenewal] = []
            var releases = 0
            var grant: Int? = 3
            var failing = false
        }

        let state = Mutex(State())

        func renewSlots(_ renewal: SlotRenewal) async throws -> Int? {
            try state.withLock { state in
                state.renewals.append(renewal)
                if state.failing { throw StoreError(code: .sqlState("08006"), message: "connection lost") }
                return state.grant
            }
        }

        func releaseSlots(queue: String, owner: String) async throws {
            state.withLock { $0.releases += 1 }
        }

        var renewals: [SlotRenewal] { state.withLock { $0.renewals } }
    }

    struct Fixture {
        let clock = ManualDaemonClock()
        let store = RecordingSlotStore()
        let gate = ConcurrencyGate(workers: 4, ceiling: 0)

        func leaser(maxInFlight: Int? = 3, lease: Duration = .seconds(1)) throws -> SlotLeaser {
            var queue = QueueConfiguration(upstream: try UpstreamURL(parsing: "http://127.0.0.1:9/"))
            queue.workers = 4
            queue.maxInFlight = maxInFlight
            let storeHealth = StoreHealth(
                classifier: nil, health: HealthState(), clock: clock.clock, logger: Logger(label: "test"))
            return SlotLeaser(
                queue: queue, gate: gate, callsInFlight: { 0 }, store: store, owner: "daemon-a", lease: lease,
                clock: clock.clock, storeHealth: storeHealth)
        }

        /// Waits (bounded) until the leaser has renewed `count` times and sleeps again.
        func renewed(_ count: Int) async throws {
            try await waitUntil(timeout: .seconds(10)) { store.renewals.count >= count && clock.sleepers >= 1 }
            #expect(store.renewals.count == count)
        }

        /// Gives the leaser's task real time in which it could act, and must not: longer than
        /// its 100 ms renewal, so a leaser sleeping on the real clock would be caught renewing.
        func settle() async throws { try await Task.sleep(for: .milliseconds(150)) }

        /// The next renewal comes when the clock has moved `interval` on, not a millisecond sooner.
        func renewsAgain(after interval: Duration) async throws {
            let count = store.renewals.count
            clock.advance(by: interval - .milliseconds(1))
            try await settle()
            #expect(store.renewals.count == count)
            clock.advance(by: .milliseconds(1))
            try await renewed(count + 1)
        }
    }

    @Test func itRenewsAtOnceThenEveryHundredMillisecondsOfItsClock() async throws {
        let fixture = Fixture()
        let leaser = try fixture.leaser()
        let task = Task { await leaser.run() }
        try await fixture.renewed(1)
        #expect(fixture.gate.currentLimit == 3)
        let first = try #require(fixture.store.renewals.first)
        #expect(first.maxInFlight == 3 && first.owner == "daemon-a" && first.lease == 1000 && first.demand == 0)

        try await fixture.renewsAgain(after: .milliseconds(100))

        task.cancel()
        await task.value
        #expect(fixture.store.state.withLock { $0.releases } == 1)
    }

    @Test func aWorkerShortOfSlotsWakesItEarlyButNoSoonerThanTheSpacing() async throws {
        let fixture = Fixture()
        fixture.store.state.withLock { $0.grant = 0 }
        let leaser = try fixture.leaser()
        let task = Task { await leaser.run() }
        try await fixture.renewed(1)
        #expect(fixture.gate.currentLimit == 0)

        // A worker finds no slot: the leaser wakes, then waits out the 10 ms spacing.
        fixture.store.state.withLock { $0.grant = 1 }
        let worker = Task { try await fixture.gate.acquire() }
        try await waitUntil(timeout: .seconds(10)) { fixture.gate.demand.waiting == 1 }
        try await fixture.settle()
        #expect(fixture.store.renewals.count == 1)
        fixture.clock.advance(by: .milliseconds(10))
        try await fixture.renewed(2)
        // It said a worker waits, and the slot it got went to that worker.
        #expect(fixture.store.renewals.last?.demand == 1)
        _ = try await worker.value
        #expect(fixture.gate.demand == (1, 0))

        task.cancel()
        await task.value
    }

    @Test func renewalsFailingForHalfALeaseStopNewCalls() async throws {
        let fixture = Fixture()
        let leaser = try fixture.leaser(lease: .seconds(1))
        let task = Task { await leaser.run() }
        try await fixture.renewed(1)
        #expect(fixture.gate.currentLimit == 3)

        fixture.store.state.withLock { $0.failing = true }
        for round in 2...5 {
            fixture.clock.advance(by: .milliseconds(100))
            try await fixture.renewed(round)
        }
        // 400 ms without a renewal: the row lives on, and so do the slots.
        #expect(fixture.gate.currentLimit == 3)
        fixture.clock.advance(by: .milliseconds(100))
        try await fixture.renewed(6)
        #expect(fixture.gate.currentLimit == 0)

        fixture.store.state.withLock { $0.failing = false }
        fixture.clock.advance(by: .milliseconds(100))
        try await fixture.renewed(7)
        #expect(fixture.gate.currentLimit == 3)

        task.cancel()
        await task.value
    }

    @Test func aQueueWithoutAFleetLimitRenewsEveryThirdOfItsLease() async throws {
        let fixture = Fixture()
        let leaser = try fixture.leaser(maxInFlight: nil, lease: .seconds(3))
        let task = Task { await leaser.run() }
        try await fixture.renewed(1)
        #expect(fixture.store.renewals.first?.maxInFlight == nil)
        try await fixture.renewsAgain(after: .seconds(1))
        task.cancel()
        await task.value
    }
}
