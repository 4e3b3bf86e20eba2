/// The store's outages, as a pure state machine fed with the outcome of every store operation
/// the daemon makes (claims, outcome writes, lease renewals, the reaper).
///
///     healthy ──a failure──► outage ──a success that proves the store works──► healthy
///        (one error line)      │ more failures: debug lines      (one summary line)
///                              └──────────────┘
///
/// What ends an outage depends on what it is. A success that wrote rows proves the store
/// writable again and ends any outage. A success that wrote nothing (a claim that found no job,
/// a reaper with nothing to reap) proves the store reachable and its lock obtainable, which ends
/// an `unreachable` or `locked` outage, but not a `notWritable` one: on a full disk a
/// transaction that changes nothing still commits. Such an outage ends on a write, or once no
/// operation has failed for `quietPeriod` while others kept succeeding (nothing left to write
/// would otherwise keep it open for ever).
///
/// The owner (`StoreHealth`) logs and updates `/healthz` from the returned actions.
struct StoreOutage<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// What a successful operation proves.
    enum Proof: Sendable, Equatable {
        /// It changed rows: the store takes writes.
        case wrote
        /// It ran to its end without changing anything.
        case ran
    }

    /// An outage under way.
    struct Outage: Sendable, Equatable {
        /// The latest failure's kind (an outage may change kind: locked, then full).
        var failure: StoreFailure
        /// The latest error, as `/healthz` and the debug lines show it.
        var reason: String
        /// When the first failure happened.
        var startedAt: Instant
        /// Failed operations so far, the first included.
        var failedAttempts: Int
        /// The latest failure.
        var lastFailureAt: Instant
    }

    /// What the owner should do.
    enum Action: Sendable, Equatable {
        /// Nothing to report.
        case none
        /// An outage began: log one error line, report it on `/healthz`.
        case started(Outage)
        /// The outage goes on: a debug line.
        case continuing(Outage)
        /// The outage is over: one summary line, `/healthz` healthy again.
        case ended(failure: StoreFailure, duration: Duration, failedAttempts: Int)
    }

    /// How long a `notWritable` outage must go without a failure before a success that wrote
    /// nothing ends it.
    let quietPeriod: Duration

    /// The outage under way, if any.
    private(set) var outage: Outage?

    init(quietPeriod: Duration = .seconds(5)) {
        self.quietPeriod = quietPeriod
    }

    /// An operation failed with an error of kind `failure`, described by `reason`.
    mutating func failed(_ failure: StoreFailure, reason: String, at now: Instant) -> Action {
        guard var current = outage else {
            let started = Outage(
                failure: failure, reason: reason, startedAt: now, failedAttempts: 1, lastFailureAt: now)
            outage = started
            return .started(started)
        }
        current.failure = failure
        current.reason = reason
        current.failedAttempts += 1
        current.lastFailureAt = now
        outage = current
        return .continuing(current)
    }

    /// An operation succeeded, proving `proof`.
    mutating func succeeded(_ proof: Proof, at now: Instant) -> Action {
        guard let current = outage else { return .none }
        let over: Bool
        switch (proof, current.failure) {
        case (.wrote, _), (.ran, .unreachable), (.ran, .locked):
            over = true
        case (.ran, .notWritable):
            over = current.lastFailureAt.duration(to: now) >= quietPeriod
        }
        guard over else { return .none }
        outage = nil
        return .ended(
            failure: current.failure, duration: current.startedAt.duration(to: now),
            failedAttempts: current.failedAttempts)
    }
}
