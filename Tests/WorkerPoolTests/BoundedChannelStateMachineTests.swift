import Testing

@testable import WorkerPool

/// The channel's logic event by event, with plain strings standing in for waiters.
@Suite("BoundedChannel state machine", .timeLimit(.minutes(1)))
struct BoundedChannelStateMachineTests {
    typealias Machine = BoundedChannel<Int>.StateMachine<String, String>

    @Test func aSendToAWaitingReceiverBypassesTheBuffer() {
        var machine = Machine(capacity: 2)
        guard case .suspend = machine.receive(id: 1, waiter: "r1") else {
            Issue.record("receiver waits")
            return
        }
        guard case .resumeReceiver("r1", 7) = machine.send(7, id: 2, waiter: "s1") else {
            Issue.record("handed straight to r1")
            return
        }
        #expect(machine.buffer.isEmpty)
    }

    @Test func sendersWaitingOnAFullBufferAreResumedTogetherAtTheLowWatermark() {
        var machine = Machine(capacity: 4)
        for value in 1...4 {
            guard case .done = machine.send(value, id: UInt64(value), waiter: "s") else {
                Issue.record("buffered")
                return
            }
        }
        guard case .suspend = machine.send(5, id: 5, waiter: "s5") else {
            Issue.record("s5 waits")
            return
        }
        guard case .suspend = machine.send(6, id: 6, waiter: "s6") else {
            Issue.record("s6 waits")
            return
        }
        // Each receive moves one waiting element in; nobody is resumed above the watermark (2).
        for expected in 1...3 {
            guard case .element(expected, let resumed) = machine.tryReceive(), resumed.isEmpty else {
                Issue.record("receive \(expected) resumes no sender")
                return
            }
        }
        guard case .element(4, let resumed) = machine.tryReceive() else {
            Issue.record("4")
            return
        }
        #expect(resumed == ["s5", "s6"], "both resumed once the buffer is down to 2")
        #expect(Array(machine.buffer) == [5, 6])
    }

    @Test func cancellingDistinguishesWaitingFromAcceptedSenders() {
        var machine = Machine(capacity: 2)
        _ = machine.send(1, id: 1, waiter: "a")
        _ = machine.send(2, id: 2, waiter: "b")
        _ = machine.send(3, id: 3, waiter: "waiting")
        _ = machine.send(4, id: 4, waiter: "accepted-later")
        _ = machine.tryReceive()  // moves 3 in: "waiting" is now accepted
        guard case .resume("waiting") = machine.cancelSender(id: 3) else {
            Issue.record("accepted: resumed")
            return
        }
        guard case .reject("accepted-later") = machine.cancelSender(id: 4) else {
            Issue.record("waiting: rejected")
            return
        }
        guard case .none = machine.cancelSender(id: 4) else {
            Issue.record("only once")
            return
        }
    }

    @Test func closeTakesTheBufferAndRejectsOnlyWaitingSenders() {
        var machine = Machine(capacity: 1)
        _ = machine.send(1, id: 1, waiter: "s1")
        _ = machine.send(2, id: 2, waiter: "s2")
        let action = machine.close()
        #expect(action.removed == [1])
        #expect(action.senders == ["s2"])
        guard case .finished = machine.tryReceive() else {
            Issue.record("finished")
            return
        }
        guard case .rejectFinished = machine.trySend(3) else {
            Issue.record("rejects sends")
            return
        }
    }
}
