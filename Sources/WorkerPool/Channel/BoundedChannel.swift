import Synchronization

/// A bounded, multi-producer, multi-consumer FIFO channel.
///
/// - `send` suspends while the buffer is full (backpressure) and throws once the channel is
///   finished; `receive` suspends while it is empty and returns nil once it is finished and
///   drained.
/// - Cancellation-safe: a cancelled waiter is resumed exactly once with `CancellationError`; a
///   cancelled sender's element is never delivered, a cancelled receiver takes none.
///
/// Nothing in NIO or swift-async-algorithms does exactly this (`AsyncChannel` is unbuffered,
/// `.buffer` is per-iterator and `AsyncStream` has one consumer), hence this small type.
final class BoundedChannel<Element: Sendable>: Sendable {
    typealias SendContinuation = CheckedContinuation<Void, any Error>
    typealias ReceiveContinuation = CheckedContinuation<Element?, any Error>
    typealias Machine = StateMachine<SendContinuation, ReceiveContinuation>

    private struct Locked {
        var machine: Machine
        var nextID: UInt64 = 0
    }

    private let state: Mutex<Locked>

    /// The most elements buffered at once.
    let capacity: Int

    /// Creates a channel that buffers up to `capacity` elements.
    init(capacity: Int) {
        self.capacity = capacity
        self.state = Mutex(Locked(machine: Machine(capacity: capacity)))
    }

    /// Elements buffered now (not counting suspended senders).
    var count: Int {
        state.withLock { $0.machine.buffer.count }
    }

    /// Whether `finish()` or `close()` was called.
    var isFinished: Bool {
        state.withLock { $0.machine.isFinished }
    }

    /// Sends `element`, suspending while the buffer is full.
    ///
    /// - Throws: `BoundedChannelError` with code `.finished` when the channel is finished
    ///   (before or while waiting), `CancellationError` when the task is cancelled while waiting.
    ///   In both cases the element was not accepted.
    func send(_ element: Element) async throws {
        // Fast path: room in the buffer (or a receiver waiting) needs no continuation at all.
        let (immediate, id) = state.withLock { locked -> (Machine.SendAction, UInt64) in
            locked.nextID += 1
            return (locked.machine.trySend(element), locked.nextID)
        }
        switch immediate {
        case .done: return
        case .resumeReceiver(let receiver, let element):
            receiver.resume(returning: element)
            return
        case .rejectFinished: throw BoundedChannelError(code: .finished)
        case .suspend: break
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: SendContinuation) in
                let action = state.withLock { locked -> Machine.SendAction? in
                    // Checked under the lock: a cancellation that ran its handler before this
                    // waiter was registered is seen here, so no waiter is ever left behind.
                    if Task.isCancelled { return nil }
                    return locked.machine.send(element, id: id, waiter: continuation)
                }
                switch action {
                case nil: continuation.resume(throwing: CancellationError())
                case .done?: continuation.resume()
                case .resumeReceiver(let receiver, let element)?:
                    receiver.resume(returning: element)
                    continuation.resume()
                case .suspend?: break
                case .rejectFinished?: continuation.resume(throwing: BoundedChannelError(code: .finished))
                }
            }
        } onCancel: {
            switch state.withLock({ $0.machine.cancelSender(id: id) }) {
            case .reject(let sender): sender.resume(throwing: CancellationError())
            case .resume(let sender): sender.resume()
            case .none: break
            }
        }
    }

    /// Sends `elements` in order, taking the lock once for as many as the channel accepts at
    /// once and suspending (as `send` does) only when the buffer is full.
    ///
    /// - Returns: how many of the first elements were accepted. Fewer than `elements.count`
    ///   means the channel was finished or the task cancelled: the rest were not accepted.
    func send(contentsOf elements: some Collection<Element>) async -> Int {
        var accepted = 0
        var rest = elements[...]
        while !rest.isEmpty {
            // Everything that fits goes in under one lock; receivers are resumed after it.
            let (handed, taken, finished) = state.withLock {
                locked -> (handed: [(ReceiveContinuation, Element)], taken: Int, finished: Bool) in
                var handed = [(ReceiveContinuation, Element)]()
                var taken = 0
                for element in rest {
                    switch locked.machine.trySend(element) {
                    case .done: taken += 1
                    case .resumeReceiver(let receiver, let element):
                        handed.append((receiver, element))
                        taken += 1
                    case .suspend: return (handed, taken, false)
                    case .rejectFinished: return (handed, taken, true)
                    }
                }
                return (handed, taken, false)
            }
            for (receiver, element) in handed { receiver.resume(returning: element) }
            accepted += taken
            rest = rest.dropFirst(taken)
            guard !finished, let next = rest.first else { break }
            // Full: wait for room as a single send does, then go on with the rest.
            do {
                try await send(next)
            } catch {
                break
            }
            accepted += 1
            rest = rest.dropFirst()
        }
        return accepted
    }

    /// Sends `element` only if it is accepted at once; returns whether it was.
    func trySend(_ element: Element) -> Bool {
        let action = state.withLock { $0.machine.trySend(element) }
        switch action {
        case .done: return true
        case .resumeReceiver(let receiver, let element):
            receiver.resume(returning: element)
            return true
        case .suspend, .rejectFinished: return false
        }
    }

    /// Receives the oldest element, suspending while the channel is empty; returns nil once the
    /// channel is finished and drained.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    ///
    /// `nonisolated(nonsending)`, like the rest of a worker's per-job path (`process`, the
    /// connection's `call`, `onOutcome`): it runs on the caller's executor, the worker's event
    /// loop, instead of hopping to the generic executor and back on every job (some 200
    /// instructions a hop, under a lock, for a task with an executor preference).
    nonisolated(nonsending) func receive() async throws -> Element? {
        let (immediate, id) = state.withLock { locked -> (Machine.ReceiveAction, UInt64) in
            locked.nextID += 1
            return (locked.machine.tryReceive(), locked.nextID)
        }
        switch immediate {
        case .element(let element, let senders):
            for sender in senders { sender.resume() }
            return element
        case .finished: return nil
        case .suspend: break
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: ReceiveContinuation) in
                let action = state.withLock { locked -> Machine.ReceiveAction? in
                    if Task.isCancelled { return nil }
                    return locked.machine.receive(id: id, waiter: continuation)
                }
                switch action {
                case nil: continuation.resume(throwing: CancellationError())
                case .element(let element, let senders)?:
                    for sender in senders { sender.resume() }
                    continuation.resume(returning: element)
                case .finished?: continuation.resume(returning: nil)
                case .suspend?: break
                }
            }
        } onCancel: {
            state.withLock { $0.machine.cancelReceiver(id: id) }?.resume(throwing: CancellationError())
        }
    }

    /// Ends the channel: waiting and later senders are rejected; receivers drain what is
    /// buffered, then get nil.
    func finish() {
        let action = state.withLock { $0.machine.finish() }
        resume(action)
    }

    /// Ends the channel and takes out everything buffered, returning it in FIFO order, so the
    /// owner can hand unstarted work back. Receivers get nil; waiting senders are rejected.
    func close() -> [Element] {
        let action = state.withLock { $0.machine.close() }
        resume(action)
        return action.removed
    }

    private func resume(_ action: Machine.FinishAction) {
        for receiver in action.receivers { receiver.resume(returning: nil) }
        for sender in action.senders { sender.resume(throwing: BoundedChannelError(code: .finished)) }
        for sender in action.acceptedSenders { sender.resume() }
    }
}

/// An error from `BoundedChannel`.
struct BoundedChannelError: Error, Hashable, CustomStringConvertible {
    /// What went wrong.
    struct Code: Hashable, Sendable {
        fileprivate enum Value { case finished }
        fileprivate let value: Value
        /// The channel was finished or closed; the element was not accepted.
        static let finished = Code(value: .finished)
    }

    /// What went wrong.
    let code: Code

    var description: String { "the channel is finished" }
}
