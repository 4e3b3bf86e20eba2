/// The bounds a claim keeps for its queue across every daemon on the database, kept in the store
/// inside the claim's own transaction (so a daemon's memory never holds the fleet's count).
/// (The fleet's calls in flight are bounded by slots, not by claims: see `SlotRenewal`.)
struct ClaimLimits: Sendable, Equatable {
    /// The queue's claims start no faster than this; nil: no fleet-wide rate.
    var rate: SharedRate?

    /// No bound beyond the claim's own `limit`.
    static let none = ClaimLimits()

    /// Whether a claim must read and write the shared state under the queue's lock.
    var isEmpty: Bool { rate == nil }

    /// How many jobs may be taken: the smaller of `limit` and the calls the rate allows.
    func allowed(limit: Int, rate grant: SharedRate.Grant?) -> Int {
        max(0, min(limit, grant?.calls ?? limit))
    }
}
