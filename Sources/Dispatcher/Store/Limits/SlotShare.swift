/// How a queue's `max_in_flight` slots are split between the daemons calling its upstream: a
/// pure rule the stores apply to the queue's `queue_slots` rows inside the transaction that
/// renews one daemon's row.
///
/// Each daemon's fair share is a max-min split of the slots by demand (calls in flight plus
/// workers waiting for a slot): a daemon wanting less than an even split gets what it wants and
/// the rest is split among the others (ties in owner order, so every daemon computes the same
/// split). Fair shares are only where the fleet converges to: a daemon never takes slots
/// another still holds, so
///
///     granted = min(fair share, maxInFlight − slots held by the others)
///
/// and the rows never add up to more than `maxInFlight`. A daemon whose fair share fell below
/// its calls in flight cannot take those calls back: its row keeps `inUse` slots (never more
/// than it held) until they end, and its workers start nothing new meanwhile.
struct SlotShare: Sendable, Equatable {
    /// Calls the daemon's workers may have in flight until its next renewal.
    var granted: Int
    /// The slots its row holds: `granted`, or its calls in flight when those are more.
    var held: Int

    /// Another live daemon's row.
    struct Holder: Sendable, Equatable {
        var owner: String
        var slots: Int
        var demand: Int
    }

    /// The renewing daemon's share of `maxInFlight`.
    ///
    /// - Parameters:
    ///   - owner, demand, inUse: the renewing daemon: its name, the calls it could run now, and
    ///     the calls it has in flight (each holding one of its slots).
    ///   - others: the unexpired rows of every other daemon on the queue.
    static func share(
        maxInFlight: Int, owner: String, demand: Int, inUse: Int, others: [Holder]
    ) -> SlotShare {
        let all = others.map { ($0.owner, $0.demand) } + [(owner, demand)]
        let fair = fairShares(of: maxInFlight, demands: all)[owner] ?? 0
        let free = max(0, maxInFlight - others.reduce(0) { $0 + $1.slots })
        let granted = min(fair, free)
        return SlotShare(granted: granted, held: max(granted, inUse))
    }

    /// A max-min fair split of `total` between `demands`: nobody gets more than it asks for,
    /// and what is left after the smaller demands goes evenly to the larger ones.
    static func fairShares(of total: Int, demands: [(owner: String, demand: Int)]) -> [String: Int] {
        var shares = [String: Int]()
        var remaining = max(0, total)
        // Smallest demand first; ties in owner order, so every daemon computes the same split.
        let ordered = demands.sorted { ($0.demand, $0.owner) < ($1.demand, $1.owner) }
        for (index, entry) in ordered.enumerated() {
            // An even split of what is left among those not yet served; a division's remainder
            // stays for the later (larger) demands, and the last takes all it may.
            let share = min(max(0, entry.demand), remaining / (ordered.count - index))
            shares[entry.owner] = share
            remaining -= share
        }
        return shares
    }
}
