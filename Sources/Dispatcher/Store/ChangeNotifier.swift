/// Wake-ups for idle feeders: something may have changed in the store (a job enqueued, retried
/// or released, by any process). One per daemon, shared by all its queues' feeders.
///
/// A feeder takes a `mark()` before it looks for work and, finding none, waits for a change
/// after that mark, so a change between the look and the wait is never missed. Wake-ups may be
/// spurious; a lost one only delays a job until the implementation's safety poll.
protocol ChangeNotifier: Sendable {
    /// A token for "now", taken before looking for work.
    func mark() async -> ChangeMark

    /// Returns once something changed after `mark`, or when the task is cancelled.
    func wait(after mark: ChangeMark) async
}

/// An opaque position in a notifier's history of changes.
struct ChangeMark: Sendable, Equatable {
    var generation: UInt64
    /// Implementation-defined detail (SQLite: the database's change counter).
    var detail: Int64 = 0
}
