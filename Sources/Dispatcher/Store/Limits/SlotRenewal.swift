/// A daemon's row in `queue_slots`: its share of a queue's fleet-wide `max_in_flight` and its
/// concurrency, leased until `expiresAt` (ms, store clock).
struct QueueSlotRow: Sendable, Equatable {
    var queue: String
    var owner: String
    /// Slots of `maxInFlight` it holds (0 when the queue has none).
    var slots: Int
    /// Calls in flight plus workers waiting for a slot, at its last renewal.
    var demand: Int
    /// Calls its workers may have in flight: the adaptive limit or the workers, cut to `slots`
    /// when the queue has a `maxInFlight`.
    var concurrencyLimit: Int
    var maxInFlight: Int?
    var expiresAt: Int64
}

/// One daemon renewing its row of a queue: the rule both stores apply, inside one transaction,
/// to the queue's rows as read (under the queue's lock when it has a `maxInFlight`).
struct SlotRenewal: Sendable, Equatable {
    var queue: String
    var owner: String
    /// The queue's fleet-wide bound; nil: the row only says what the daemon runs.
    var maxInFlight: Int?
    /// Calls the daemon could run now: in flight plus waiting for a slot.
    var demand: Int
    /// Calls it has in flight, each holding one of its slots.
    var inUse: Int
    /// The adaptive limit or the workers.
    var concurrencyLimit: Int
    /// How long the row lives unrenewed, in ms.
    var lease: Int64

    /// What the renewal does to the rows.
    struct Decision: Sendable, Equatable {
        /// Calls the daemon may have in flight until its next renewal; nil: no fleet bound.
        var granted: Int?
        /// The row to write, or nil when the stored one still says the same and lives long
        /// enough (a renewal that writes nothing leaves SQLite's other connections unwoken).
        var write: QueueSlotRow?
        /// Whether rows of other daemons ran out and are to be deleted.
        var deleteExpired: Bool
    }

    func decide(rows: [QueueSlotRow], now: Int64) -> Decision {
        let live = rows.filter { $0.owner != owner && $0.expiresAt >= now }
        let mine = rows.first { $0.owner == owner }
        var granted: Int?
        var slots = 0
        if let maxInFlight {
            let share = SlotShare.share(
                maxInFlight: maxInFlight, owner: owner, demand: demand, inUse: inUse,
                others: live.map { .init(owner: $0.owner, slots: $0.slots, demand: $0.demand) })
            granted = share.granted
            slots = share.held
        }
        let row = QueueSlotRow(
            queue: queue, owner: owner, slots: slots, demand: demand,
            concurrencyLimit: min(concurrencyLimit, granted ?? .max), maxInFlight: maxInFlight, expiresAt: now + lease)
        var unchanged = mine
        unchanged?.expiresAt = row.expiresAt
        // Written again once half the lease is gone, however little changed.
        let write = unchanged != row || (mine?.expiresAt ?? 0) - now < lease / 2
        return Decision(
            granted: granted, write: write ? row : nil,
            deleteExpired: rows.contains { $0.owner != owner && $0.expiresAt < now })
    }
}
