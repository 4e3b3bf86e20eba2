/// What `SlotLeaser` needs from a store: the daemons' rows in `queue_slots`.
protocol SlotStore: Sendable {
    /// Renews the daemon's row of a queue in `queue_slots` (see `SlotRenewal`), serialized with
    /// every other renewal of the queue; returns the slots of its `maxInFlight` granted until the
    /// next renewal (nil when it has none).
    func renewSlots(_ renewal: SlotRenewal) async throws -> Int?

    /// Deletes `owner`'s row of `queue`, giving its slots back (at shutdown).
    func releaseSlots(queue: String, owner: String) async throws
}
