import Synchronization

/// The calls a queue's workers may have in flight, as the workers meet it. A worker takes a slot
/// just before its call and gives it back with what the call said; a worker finding no slot
/// waits, first come first served, until a call ends or the limit rises.
///
/// Two bounds meet here, each optional: an `AdaptiveLimit` moved by the calls' latencies and
/// overload answers, and a `ceiling` set from outside: the slots this daemon leases of the
/// queue's fleet-wide `max_in_flight`. The calls in flight stay at or below both (and the
/// workers). A lowered ceiling takes no call back: the calls beyond it end on their own, and no
/// new one starts until the count is below it.
public final class ConcurrencyGate: Sendable {
    /// A slot held by a call.
    public struct Slot: Sendable, Equatable {
        fileprivate var adaptive: AdaptiveLimit.Slot?
    }

    public typealias Signal = AdaptiveLimit.Signal

    private struct State {
        var adaptive: AdaptiveLimit?
        let workers: Int
        var ceiling: Int
        var inFlight = 0
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Slot, any Error>)] = []
        var nextID: UInt64 = 0
        /// Told when a worker starts waiting with the ceiling below the workers' demand.
        var onStarved: (@Sendable () -> Void)?

        var limit: Int { min(adaptive?.limit ?? workers, ceiling) }

        mutating func start() -> Slot? {
            guard inFlight < ceiling else { return nil }
            var slot = Slot()
            if adaptive != nil {
                guard let started = adaptive?.start() else { return nil }
                slot.adaptive = started
            } else {
                guard inFlight < workers else { return nil }
            }
            inFlight += 1
            return slot
        }

        /// Hands free slots to the waiters, oldest first.
        mutating func grant() -> [(CheckedContinuation<Slot, any Error>, Slot)] {
            var granted = [(CheckedContinuation<Slot, any Error>, Slot)]()
            while !waiters.isEmpty, let next = start() {
                granted.append((waiters.removeFirst().continuation, next))
            }
            return granted
        }
    }

    private let state: Mutex<State>
    /// Told each time the limit moves (the pool's gauge).
    private let onChange: @Sendable (Int) -> Void

    /// - Parameters:
    ///   - workers: the most calls ever in flight.
    ///   - adaptive: the adaptive limit's constants; nil: no adaptive bound.
    ///   - ceiling: the starting ceiling; nil: none (`setCeiling` may still set one).
    public init(
        workers: Int, adaptive: AdaptiveLimit.Configuration? = nil, ceiling: Int? = nil,
        onChange: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        let state = State(adaptive: adaptive.map(AdaptiveLimit.init), workers: workers, ceiling: ceiling ?? .max)
        self.state = Mutex(state)
        self.onChange = onChange
        onChange(state.limit)
    }

    /// Calls that may be in flight now.
    public var currentLimit: Int { state.withLock { $0.limit } }

    /// Calls in flight now and workers waiting for a slot: what this daemon could use.
    public var demand: (inFlight: Int, waiting: Int) { state.withLock { ($0.inFlight, $0.waiters.count) } }

    /// The adaptive limit, or the workers: what the daemon would run with slots to spare.
    public var ownLimit: Int { state.withLock { $0.adaptive?.limit ?? $0.workers } }

    /// Sets whom to tell when a worker must wait because the ceiling, not the limit, is full:
    /// whoever leases the slots may ask for more now instead of at its next renewal.
    public func onStarved(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.onStarved = handler }
    }

    /// Bounds the calls in flight by `ceiling` from now on (waiters get slots it frees).
    public func setCeiling(_ ceiling: Int) {
        let (granted, limit, moved) = state.withLock { state in
            let before = state.limit
            state.ceiling = max(0, ceiling)
            return (state.grant(), state.limit, state.limit != before)
        }
        for (continuation, next) in granted { continuation.resume(returning: next) }
        if moved { onChange(limit) }
    }

    /// A slot if one is free now and nobody waits for one; nil otherwise.
    public func tryAcquire() -> Slot? {
        state.withLock { state in state.waiters.isEmpty ? state.start() : nil }
    }

    /// Waits for a slot.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting; no slot was taken.
    public func acquire() async throws -> Slot {
        let (slot, id) = state.withLock { state -> (Slot?, UInt64) in
            if state.waiters.isEmpty, let slot = state.start() { return (slot, 0) }
            state.nextID += 1
            return (nil, state.nextID)
        }
        if let slot { return slot }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Slot, any Error>) in
                let (now, starved) = state.withLock {
                    state -> (Result<Slot, CancellationError>?, (@Sendable () -> Void)?) in
                    if Task.isCancelled { return (.failure(CancellationError()), nil) }
                    // A call may have ended since the first look, with nobody queued to take its
                    // slot: take it now, or this waiter could wait for a release that never comes.
                    if state.waiters.isEmpty, let slot = state.start() { return (.success(slot), nil) }
                    state.waiters.append((id, continuation))
                    // Short of slots rather than of the limit's own room: the lease holder may
                    // get more for us now instead of at its next renewal.
                    let short =
                        state.inFlight >= state.ceiling && state.ceiling < (state.adaptive?.limit ?? state.workers)
                    return (nil, short ? state.onStarved : nil)
                }
                if let now { continuation.resume(with: now.mapError { $0 as any Error }) }
                starved?()
            }
        } onCancel: {
            // A waiter already handed a slot is no longer in the list: it owns the slot.
            let waiter = state.withLock { state -> CheckedContinuation<Slot, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Gives `slot` back after a call of `latency` that said `signal` about the upstream.
    public func release(_ slot: Slot, latency: Duration, signal: Signal) {
        let (granted, limit, moved) = state.withLock { state in
            let before = state.limit
            state.inFlight -= 1
            if let adaptive = slot.adaptive { state.adaptive?.end(adaptive, latency: latency, signal: signal) }
            return (state.grant(), state.limit, state.limit != before)
        }
        for (continuation, next) in granted { continuation.resume(returning: next) }
        if moved { onChange(limit) }
    }
}
