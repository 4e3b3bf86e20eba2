import TestSupport
import Testing

@testable import WorkerPool

/// `ConcurrencyGate` with a leased ceiling: what the workers of a queue with a fleet-wide
/// `max_in_flight` meet.
@Suite("concurrency gate")
struct ConcurrencyGateTests {
    @Test func noSlotIsGivenBeforeTheCeilingIsSetAndWaitersGetThemInOrder() async throws {
        let limits = Locked([Int]())
        let gate = ConcurrencyGate(workers: 4, ceiling: 0) { limit in limits.withLock { $0.append(limit) } }
        let starved = Locked(0)
        gate.onStarved { starved.withLock { $0 += 1 } }
        #expect(gate.currentLimit == 0)
        let order = Locked([Int]())
        try await withThrowingTaskGroup(of: ConcurrencyGate.Slot.self) { group in
            for worker in 0..<3 {
                group.addTask {
                    let slot = try await gate.acquire()
                    order.withLock { $0.append(worker) }
                    return slot
                }
                // Each waits before the next comes: first come, first served.
                try await waitUntilWaiting(gate, count: worker + 1)
            }
            #expect(gate.demand == (0, 3))
            // Each waiter told the lease holder once (just after it queued).
            try await waitUntil(timeout: .seconds(10)) { starved.withLock { $0 } == 3 }
            gate.setCeiling(2)
            var slots = [try await group.next()!, try await group.next()!]
            // The two first to wait got the slots (they resume in either order).
            #expect(Set(order.withLock { $0 }) == [0, 1])
            #expect(gate.demand == (2, 1))
            // Lowering the ceiling takes no call back, and frees nothing when one ends.
            gate.setCeiling(1)
            gate.release(slots.removeFirst(), latency: .zero, signal: .answered)
            #expect(gate.demand == (1, 1))
            gate.release(slots.removeFirst(), latency: .zero, signal: .answered)
            let last = try await group.next()!
            #expect(order.withLock { $0 }.last == 2)
            gate.release(last, latency: .zero, signal: .answered)
        }
        #expect(limits.withLock { $0 } == [0, 2, 1])
    }

    @Test func theWorkersStillBoundAGateWithAHighCeiling() async throws {
        let gate = ConcurrencyGate(workers: 2, ceiling: 10)
        let first = try await gate.acquire()
        _ = try await gate.acquire()
        #expect(gate.currentLimit == 2)
        let third = Task { try await gate.acquire() }
        try await waitUntilWaiting(gate, count: 1)
        gate.release(first, latency: .zero, signal: .answered)
        _ = try await third.value
        #expect(gate.demand == (2, 0))
    }

    @Test func aCeilingCutsTheAdaptiveLimit() {
        let gate = ConcurrencyGate(workers: 8, adaptive: .init(maximum: 8, initial: 6), ceiling: 3)
        #expect(gate.currentLimit == 3 && gate.ownLimit == 6)
        gate.setCeiling(8)
        #expect(gate.currentLimit == 6)
    }

    /// Eight tasks through a gate of two, each holding its slot across a suspension: every
    /// acquire gets its slot, handed on by the releases, and the gate ends empty. (With the
    /// hand-off in `release` removed it hangs until its time limit. The lost wake-up the gate also
    /// guards against, a release between a waiter's first look and its queueing, did not show
    /// with that guard removed: the window is too narrow to hit by load alone.)
    @Test(.timeLimit(.minutes(1))) func noWaiterIsLeftBehindUnderContention() async throws {
        let gate = ConcurrencyGate(workers: 2, ceiling: 2)
        let done = Locked(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<500 {
                        let slot = try await gate.acquire()
                        // Held across a suspension, so the other tasks queue for it.
                        await Task.yield()
                        gate.release(slot, latency: .zero, signal: .answered)
                        done.withLock { $0 += 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(done.withLock { $0 } == 4000)
        #expect(gate.demand == (0, 0))
    }

    /// Waits (bounded) until `count` workers wait at the gate.
    private func waitUntilWaiting(_ gate: ConcurrencyGate, count: Int) async throws {
        for _ in 0..<2000 where gate.demand.waiting < count { try await Task.sleep(for: .milliseconds(1)) }
        #expect(gate.demand.waiting == count)
    }
}
