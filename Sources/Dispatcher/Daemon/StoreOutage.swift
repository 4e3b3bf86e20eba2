/// The store's outages, as a pure state machine fed with the outcome of every store operation
/// the daemon makes (claims, outcome writes, lease renewals, the reaper).
///
///     healthy ──a failure──► outage ──successes, no failure for a settle time──► healthy
///        (one error line)      │ more failures: debug lines            (one summary line)
///                              └──────────────┘
///
/// An outage ends on a success that comes at least `settle` after its last failure, and its
/// length is counted to the first success after that failure. Waiting for the store to stay
/// well keeps one flapping outage from being reported as many: on a nearly full disk a small
/// commit can succeed between two large ones that fail, and a database coming back may answer
/// one connection before another.
///
/// What the success must prove depends on the outage. One that wrote rows proves the store
/// writable. One that wrote nothing (a claim that found no job, a reaper with nothing to reap)
/// proves the store reachable and its lock obtainable, which is enough for an `unreachable` or
/// `locked` outage but not for a `notWritable` one — on a full disk a transaction that changes
/// nothing still commits — so that one needs `quietPeriod` without a failure instead (nothing
/// left to write would otherwise keep it open for ever).
///
/// A failure of an operation that began before the latest outage ended belongs to that outage,
/// which was reported already, and starts no new one: a statement sent while PostgreSQL
/// restarted can hang until its deadline (30 s) and fail long after the store came back.
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
        /// The first success since the latest failure.
        var recoveredAt: Instant?
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
        /// The daemon stops while the outage still goes on: one error line.
        case unresolved(Outage, duration: Duration)
        /// An operation begun before the latest outage ended failed after it: part of that
        /// outage, a debug line.
        case late(reason: String)
    }

    /// How long an outage must go without a failure before a success ends it.
    let settle: Duration
    /// How long a `notWritable` outage must go without a failure before a success that wrote
    /// nothing ends it.
    let quietPeriod: Duration

    /// The outage under way, if any.
    private(set) var outage: Outage?
    /// When the latest outage was declared over.
    private(set) var lastEndedAt: Instant?

    init(settle: Duration = .seconds(2), quietPeriod: Duration = .seconds(5)) {
        self.settle = settle
        self.quietPeriod = quietPeriod
    }

    /// An operation that began at `began` (when known) failed with an error of kind `failure`,
    /// described by `reason`.
    mutating func failed(_ failure: StoreFailure, reason: String, at now: Instant, began: Instant? = nil) -> Action {
        guard var current = outage else {
            if let began, let lastEndedAt, began < lastEndedAt { return .late(reason: reason) }
            let started = Outage(
                failure: failure, reason: reason, startedAt: now, failedAttempts: 1, lastFailureAt: now)
            outage = started
            return .started(started)
        }
        current.failure = failure
        current.reason = reason
        current.failedAttempts += 1
        current.lastFailureAt = now
        current.recoveredAt = nil
        outage = current
        return .continuing(current)
    }

    /// An operation succeeded, proving `proof`.
    mutating func succeeded(_ proof: Proof, at now: Instant) -> Action {
        guard var current = outage else { return .none }
        let recoveredAt = current.recoveredAt ?? now
        current.recoveredAt = recoveredAt
        outage = current
        let needed = proof == .ran && current.failure == .notWritable ? quietPeriod : settle
        guard current.lastFailureAt.duration(to: now) >= needed else { return .none }
        outage = nil
        lastEndedAt = now
        return .ended(
            failure: current.failure, duration: current.startedAt.duration(to: recoveredAt),
            failedAttempts: current.failedAttempts)
    }

    /// The daemon stops: an outage that was recovering (successes since its last failure, too
    /// few to settle) ends now; one still failing is reported as unresolved.
    mutating func finish(at now: Instant) -> Action {
        guard let current = outage else { return .none }
        outage = nil
        lastEndedAt = now
        if let recoveredAt = current.recoveredAt {
            return .ended(
                failure: current.failure, duration: current.startedAt.duration(to: recoveredAt),
                failedAttempts: current.failedAttempts)
        }
        return .unresolved(current, duration: current.startedAt.duration(to: now))
    }
}
