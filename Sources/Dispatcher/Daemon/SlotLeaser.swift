import WorkerPool

/// Keeps this daemon's row of one queue in `queue_slots`: the slots it leases of the queue's
/// fleet-wide `max_in_flight`, set as its workers' ceiling, and its concurrency, which
/// `dispatcher top` shows.
///
/// Slots are leased, not counted per claim: a worker calls only while it holds one, so the
/// fleet's calls in flight stay at `max_in_flight` however many jobs each daemon has claimed
/// ahead, and a slot is free again the moment its call ends, not when the outcome is written.
/// The split follows demand (`SlotShare`): a daemon with workers waiting asks at once, one with
/// slots to spare gives them up at its next renewal. A killed daemon's row runs out after
/// `lease`; at shutdown the row is deleted.
struct SlotLeaser: Sendable {
    let queue: QueueConfiguration
    /// The queue's workers' gate (nil when the queue has neither slots nor an adaptive limit).
    let gate: ConcurrencyGate?
    /// The pool's calls in flight, for a queue without a gate.
    let callsInFlight: @Sendable () -> Int
    let store: any SlotStore
    let owner: String
    /// How long the row lives unrenewed: the daemon's lease margin.
    let lease: Duration
    let clock: DaemonClock
    /// Where failed renewals are reported.
    let storeHealth: StoreHealth

    /// How often a queue with a `max_in_flight` renews: how soon a daemon gives up slots it no
    /// longer needs to one whose workers wait.
    static let renewal: Duration = .milliseconds(100)
    /// The shortest time between two renewals.
    static let spacing: Duration = .milliseconds(10)

    /// Renews until cancelled (after the pool has drained), then deletes the row.
    func run() async {
        let interval = queue.maxInFlight == nil ? lease / 3 : Self.renewal
        let starved = ChangeBroadcast()
        gate?.onStarved { starved.signal() }
        var lastRenewed = clock.monotonic()
        while !Task.isCancelled {
            let generation = starved.generation
            let began = storeHealth.begin()
            do {
                let granted = try await store.renewSlots(renewal())
                storeHealth.succeeded(.renewSlots, wrote: false)
                lastRenewed = clock.monotonic()
                if let granted { gate?.setCeiling(granted) }
            } catch {
                storeHealth.failed(.renewSlots, error: error, began: began)
                // Unrenewed, the row runs out and its slots go to others: stop using them first.
                if queue.maxInFlight != nil, clock.monotonic() - lastRenewed >= lease / 2 {
                    gate?.setCeiling(0)
                }
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await starved.wait(after: generation) }
                group.addTask { try? await clock.sleep(interval) }
                await group.next()
                group.cancelAll()
            }
            // Workers short of slots wake it early, but no more often than this: under
            // contention every call's end finds a waiter.
            let since = clock.monotonic() - began
            if since < Self.spacing { try? await clock.sleep(Self.spacing - since) }
        }
        // The task is cancelled: the deletion runs in a task of its own, which is not.
        let (store, queue, owner) = (self.store, self.queue.name, self.owner)
        await Task { try? await store.releaseSlots(queue: queue, owner: owner) }.value
    }

    /// What this daemon says of itself now.
    private func renewal() -> SlotRenewal {
        let demand: Int
        let inUse: Int
        let limit: Int
        if let gate {
            let (inFlight, waiting) = gate.demand
            inUse = inFlight
            limit = gate.ownLimit
            // Workers waiting beyond the adaptive limit would not run with more slots.
            demand = max(inFlight, min(inFlight + waiting, limit))
        } else {
            inUse = callsInFlight()
            limit = queue.workers
            demand = inUse
        }
        return SlotRenewal(
            queue: queue.name, owner: owner, maxInFlight: queue.maxInFlight, demand: demand, inUse: inUse,
            concurrencyLimit: limit, lease: lease.wholeMilliseconds)
    }
}
