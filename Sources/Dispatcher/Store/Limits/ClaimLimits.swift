/// The bounds a claim keeps for its queue across every daemon on the database, kept in the store
/// inside the claim's own transaction (so a daemon's memory never holds the fleet's count).
struct ClaimLimits: Sendable, Equatable {
    /// The queue's running jobs stay at or below this; nil: no fleet-wide bound.
    var maxInFlight: Int?
    /// The queue's claims start no faster than this; nil: no fleet-wide rate.
    var rate: SharedRate?

    /// No bound beyond the claim's own `limit`.
    static let none = ClaimLimits()

    /// Whether a claim must read and write the shared state under the queue's lock.
    var isEmpty: Bool { maxInFlight == nil && rate == nil }

    /// How many jobs may be taken: the smaller of `limit`, the free in-flight slots and the
    /// calls the rate allows.
    func allowed(limit: Int, running: Int64, rate grant: SharedRate.Grant?) -> Int {
        var allowed = limit
        if let maxInFlight { allowed = min(allowed, maxInFlight - Int(running)) }
        if let grant { allowed = min(allowed, grant.calls) }
        return max(0, allowed)
    }
}
