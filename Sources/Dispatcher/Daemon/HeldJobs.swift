import Synchronization

/// The ids of the jobs this daemon holds: claimed, and not yet written back.
///
/// The lease keeper renews exactly these. Renewing "every running job leased to this owner"
/// would keep an orphan alive forever: a claim that committed on the server but whose answer was
/// lost (the connection died mid-reply) leases jobs this daemon never received; their leases
/// must expire so that the reaper hands them to someone.
final class HeldJobs: Sendable {
    private let ids = Mutex(Set<Int64>())

    func insert(_ claimed: some Sequence<Int64>) {
        ids.withLock { $0.formUnion(claimed) }
    }

    func remove(_ written: some Sequence<Int64>) {
        ids.withLock { $0.subtract(written) }
    }

    var snapshot: [Int64] { ids.withLock { Array($0) } }
}
