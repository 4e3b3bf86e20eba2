import Synchronization

/// A queue's adaptive concurrency limit as the workers meet it: one `AdaptiveLimit` shared by
/// the queue's workers. A worker takes a slot just before its call and gives it back with what
/// the call said; a worker finding no slot waits, first come first served, until a call ends
/// or the limit rises.
public final class ConcurrencyGate: Sendable {
    public typealias Limit = AdaptiveLimit

    private struct State {
        var limit: Limit
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Limit.Slot, any Error>)] = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>
    /// Told each time the limit moves (the pool's gauge).
    private let onChange: @Sendable (Int) -> Void

    public init(configuration: Limit.Configuration, onChange: @escaping @Sendable (Int) -> Void = { _ in }) {
        state = Mutex(State(limit: Limit(configuration: configuration)))
        self.onChange = onChange
        onChange(configuration.initial)
    }

    /// Calls that may be in flight now.
    public var currentLimit: Int { state.withLock { $0.limit.limit } }

    /// Waits for a slot.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting; no slot was taken.
    public func acquire() async throws -> Limit.Slot {
        let (slot, id) = state.withLock { state -> (Limit.Slot?, UInt64) in
            if state.waiters.isEmpty, let slot = state.limit.start() { return (slot, 0) }
            state.nextID += 1
            return (nil, state.nextID)
        }
        if let slot { return slot }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Limit.Slot, any Error>) in
                let cancelled = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.waiters.append((id, continuation))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            // A waiter already handed a slot is no longer in the list: it owns the slot.
            let waiter = state.withLock { state -> CheckedContinuation<Limit.Slot, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Gives `slot` back after a call of `latency` that said `signal` about the upstream.
    public func release(_ slot: Limit.Slot, latency: Duration, signal: Limit.Signal) {
        let (granted, limit, moved) = state.withLock { state in
            let before = state.limit.limit
            state.limit.end(slot, latency: latency, signal: signal)
            var granted = [(CheckedContinuation<Limit.Slot, any Error>, Limit.Slot)]()
            while !state.waiters.isEmpty, let next = state.limit.start() {
                granted.append((state.waiters.removeFirst().continuation, next))
            }
            return (granted, state.limit.limit, state.limit.limit != before)
        }
        for (continuation, next) in granted { continuation.resume(returning: next) }
        if moved { onChange(limit) }
    }
}
