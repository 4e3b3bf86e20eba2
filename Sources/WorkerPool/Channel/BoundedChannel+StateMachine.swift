import NIOCore

extension BoundedChannel {
    /// The channel's pure logic: a FIFO buffer, waiting senders and waiting receivers.
    ///
    /// It performs no I/O and resumes nothing itself; each event returns an action that the
    /// owning `BoundedChannel` carries out after releasing its lock. It is generic over the
    /// waiter types so tests can drive it with plain values.
    struct StateMachine<Sender, Receiver> {
        let capacity: Int
        private(set) var buffer = CircularBuffer<Element>()
        private(set) var waitingSenders = CircularBuffer<(id: UInt64, element: Element, waiter: Sender)>()
        private(set) var waitingReceivers = CircularBuffer<(id: UInt64, waiter: Receiver)>()
        /// Senders whose element is already in the buffer but who stay suspended until the
        /// buffer drains to `lowWatermark`; see `receive`.
        private(set) var acceptedSenders = CircularBuffer<(id: UInt64, waiter: Sender)>()
        private(set) var isFinished = false
        /// Accepted senders are resumed once the buffer holds this many elements or fewer.
        let lowWatermark: Int

        init(capacity: Int) {
            precondition(capacity >= 1, "a bounded channel needs a capacity of at least 1")
            self.capacity = capacity
            self.lowWatermark = capacity / 2
            buffer.reserveCapacity(capacity)
        }

        enum SendAction {
            /// The element was buffered or handed over; the sender goes on.
            case done
            /// Hand the element straight to this waiting receiver.
            case resumeReceiver(Receiver, Element)
            /// The buffer is full: the sender waits (it was registered).
            case suspend
            /// The channel is finished: the element was not accepted.
            case rejectFinished
        }

        /// A sender that can wait offers `element`.
        mutating func send(_ element: Element, id: UInt64, waiter: Sender) -> SendAction {
            let action = trySend(element)
            switch action {
            case .suspend:
                waitingSenders.append((id, element, waiter))
                return .suspend
            default:
                return action
            }
        }

        /// Offers `element` without waiting: `.suspend` means it was not accepted.
        mutating func trySend(_ element: Element) -> SendAction {
            if isFinished { return .rejectFinished }
            if let receiver = waitingReceivers.popFirst() {
                return .resumeReceiver(receiver.waiter, element)
            }
            if buffer.count < capacity {
                buffer.append(element)
                return .done
            }
            return .suspend
        }

        enum ReceiveAction {
            /// An element is available; resume these senders too (their elements are buffered).
            case element(Element, resumeSenders: [Sender])
            /// Nothing buffered and the channel is finished.
            case finished
            /// Nothing buffered: the receiver waits (it was registered).
            case suspend
        }

        /// Takes the oldest element without waiting: `.suspend` means there is none yet (and
        /// nothing was registered).
        mutating func tryReceive() -> ReceiveAction {
            if let element = buffer.popFirst() {
                // A slot freed up: the oldest waiting sender's element takes it, keeping FIFO.
                // That sender is not resumed yet: waking a producer for every single slot costs
                // a thread wake-up per element. Accepted senders are resumed together once the
                // buffer is down to the low watermark, and then refill it without suspending.
                if let sender = waitingSenders.popFirst() {
                    buffer.append(sender.element)
                    acceptedSenders.append((sender.id, sender.waiter))
                }
                guard buffer.count <= lowWatermark, !acceptedSenders.isEmpty else {
                    return .element(element, resumeSenders: [])
                }
                let resumed = acceptedSenders.map(\.waiter)
                acceptedSenders.removeAll()
                return .element(element, resumeSenders: resumed)
            }
            // Capacity is at least 1, so with an empty buffer no sender can be waiting.
            return isFinished ? .finished : .suspend
        }

        /// A receiver that can wait asks for the oldest element.
        mutating func receive(id: UInt64, waiter: Receiver) -> ReceiveAction {
            let action = tryReceive()
            if case .suspend = action {
                waitingReceivers.append((id, waiter))
            }
            return action
        }

        enum CancelSenderAction {
            /// Still waiting: its element was never accepted; resume it with cancellation.
            case reject(Sender)
            /// Its element was accepted: resume it normally.
            case resume(Sender)
            /// Already resumed.
            case none
        }

        /// Removes a cancelled sender.
        mutating func cancelSender(id: UInt64) -> CancelSenderAction {
            if let index = waitingSenders.firstIndex(where: { $0.id == id }) {
                return .reject(waitingSenders.remove(at: index).waiter)
            }
            if let index = acceptedSenders.firstIndex(where: { $0.id == id }) {
                return .resume(acceptedSenders.remove(at: index).waiter)
            }
            return .none
        }

        /// Removes a cancelled receiver; returns it when it was still waiting.
        mutating func cancelReceiver(id: UInt64) -> Receiver? {
            guard let index = waitingReceivers.firstIndex(where: { $0.id == id }) else { return nil }
            return waitingReceivers.remove(at: index).waiter
        }

        struct FinishAction {
            /// Receivers to resume with "finished" (only non-empty when nothing was buffered).
            var receivers: [Receiver] = []
            /// Senders whose elements are rejected.
            var senders: [Sender] = []
            /// Senders whose elements were accepted before the end: resume them normally.
            var acceptedSenders: [Sender] = []
            /// Elements taken out of the buffer (only by `close`).
            var removed: [Element] = []
        }

        /// No more sends; receivers drain what is buffered, then see the end.
        mutating func finish() -> FinishAction {
            isFinished = true
            var action = FinishAction()
            action.receivers = waitingReceivers.map(\.waiter)
            waitingReceivers.removeAll()
            action.senders = waitingSenders.map(\.waiter)
            waitingSenders.removeAll()
            action.acceptedSenders = acceptedSenders.map(\.waiter)
            acceptedSenders.removeAll()
            return action
        }

        /// No more sends, and the buffered elements are taken out and returned, for a shutdown
        /// that hands unstarted work back instead of running it.
        mutating func close() -> FinishAction {
            var action = finish()
            action.removed = Array(buffer)
            buffer.removeAll()
            return action
        }
    }
}
