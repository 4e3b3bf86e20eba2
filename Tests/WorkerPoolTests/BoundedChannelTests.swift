import Synchronization
import Testing

@testable import WorkerPool

@Suite("BoundedChannel", .timeLimit(.minutes(3)))
struct BoundedChannelTests {
    @Test func deliversInFIFOOrder() async throws {
        let channel = BoundedChannel<Int>(capacity: 100)
        for value in 0..<100 { try await channel.send(value) }
        channel.finish()
        var received = [Int]()
        while let value = try await channel.receive() { received.append(value) }
        #expect(received == Array(0..<100))
    }

    @Test func suspendsTheSenderAtCapacityUntilTheBufferDrainsToHalf() async throws {
        let channel = BoundedChannel<Int>(capacity: 4)
        for value in 1...4 { try await channel.send(value) }
        #expect(channel.trySend(5) == false)
        let sent = Locked(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await channel.send(5)
                sent.withLock { $0 = true }
            }
            // The sender stays suspended while the buffer is full.
            try await Task.sleep(for: .milliseconds(100))
            #expect(sent.withLock { $0 } == false)
            #expect(channel.count == 4)
            // Taking one moves the waiting element in, but the sender is resumed only at the
            // low watermark (half the capacity), so producers wake once per half buffer.
            #expect(try await channel.receive() == 1)
            try await Task.sleep(for: .milliseconds(50))
            #expect(sent.withLock { $0 } == false)
            #expect(channel.count == 4)
            #expect(try await channel.receive() == 2)
            #expect(try await channel.receive() == 3)
            try await group.waitForAll()
            #expect(sent.withLock { $0 } == true)
        }
        #expect(try await channel.receive() == 4)
        #expect(try await channel.receive() == 5)
    }

    @Test func sendingABatchDeliversItInOrderThroughASmallBuffer() async throws {
        let channel = BoundedChannel<Int>(capacity: 4)
        let received = try await withThrowingTaskGroup(of: [Int].self) { group in
            group.addTask {
                var received = [Int]()
                while let value = try await channel.receive() { received.append(value) }
                return received
            }
            #expect(await channel.send(contentsOf: 0..<50) == 50)
            #expect(await channel.send(contentsOf: 50..<100) == 50)
            channel.finish()
            return try await group.next() ?? []
        }
        #expect(received == Array(0..<100))
    }

    @Test func aBatchSentToAFinishedChannelReportsWhatWasAccepted() async throws {
        let channel = BoundedChannel<Int>(capacity: 4)
        try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask { await channel.send(contentsOf: 1...10) }
            // Four fit; the fifth waits until the channel is closed.
            try await Task.sleep(for: .milliseconds(100))
            #expect(channel.count == 4)
            let unstarted = channel.close()
            #expect(unstarted == [1, 2, 3, 4])
            #expect(try await group.next() == 4)
        }
        #expect(await channel.send(contentsOf: [11, 12]) == 0)
    }

    @Test func finishLetsReceiversDrainThenEnds() async throws {
        let channel = BoundedChannel<Int>(capacity: 4)
        try await channel.send(1)
        try await channel.send(2)
        channel.finish()
        await #expect(throws: BoundedChannelError.self) { try await channel.send(3) }
        #expect(try await channel.receive() == 1)
        #expect(try await channel.receive() == 2)
        #expect(try await channel.receive() == nil)
        #expect(try await channel.receive() == nil)
    }

    @Test func finishResumesWaitingReceiversWithNil() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        try await withThrowingTaskGroup(of: Int?.self) { group in
            for _ in 0..<3 { group.addTask { try await channel.receive() } }
            try await Task.sleep(for: .milliseconds(50))
            channel.finish()
            var results = [Int?]()
            for try await value in group { results.append(value) }
            #expect(results.count == 3)
            #expect(results.allSatisfy { $0 == nil })
        }
    }

    @Test func closeReturnsBufferedElementsAndRejectsWaitingSenders() async throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        try await channel.send(1)
        try await channel.send(2)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    try await channel.send(3)
                    return true
                } catch is BoundedChannelError {
                    return false
                }
            }
            try await Task.sleep(for: .milliseconds(50))
            #expect(channel.close() == [1, 2])
            #expect(try await group.next() == false)
        }
        #expect(try await channel.receive() == nil)
    }

    @Test func cancellingAWaitingSenderDropsItsElementOnce() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        try await channel.send(1)
        let task = Task { try await channel.send(2) }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        channel.finish()
        #expect(try await channel.receive() == 1)
        #expect(try await channel.receive() == nil)
    }

    @Test func cancellingAWaitingReceiverTakesNothing() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        let task = Task { try await channel.receive() }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        try await channel.send(7)
        #expect(try await channel.receive() == 7)
    }

    @Test func alreadyCancelledTasksAreResumedAtOnce() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        try await channel.send(1)
        let sender = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await channel.send(2)
        }
        await #expect(throws: CancellationError.self) { try await sender.value }
        #expect(channel.count == 1)
    }

    @Test func eightProducersAndEightConsumersMoveEveryItemExactlyOnce() async throws {
        let channel = BoundedChannel<Int>(capacity: 16)
        let producers = 8
        let perProducer = 12_500
        let seen = Locked([Int](repeating: 0, count: producers * perProducer))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for consumer in 0..<8 {
                _ = consumer
                group.addTask {
                    var local = [Int]()
                    while let value = try await channel.receive() { local.append(value) }
                    seen.withLock { counts in for value in local { counts[value] += 1 } }
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { senders in
                for producer in 0..<producers {
                    senders.addTask {
                        for index in 0..<perProducer { try await channel.send(producer * perProducer + index) }
                    }
                }
                try await senders.waitForAll()
            }
            channel.finish()
            try await group.waitForAll()
        }
        let counts = seen.withLock { $0 }
        #expect(counts.allSatisfy { $0 == 1 }, "every item delivered exactly once")
        #expect(counts.reduce(0, +) == 100_000)
    }

    @Test func eachProducersItemsArriveInTheOrderSent() async throws {
        let channel = BoundedChannel<(producer: Int, index: Int)>(capacity: 4)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for producer in 0..<4 {
                group.addTask { for index in 0..<1000 { try await channel.send((producer, index)) } }
            }
            var last = [Int](repeating: -1, count: 4)
            var received = 0
            while received < 4000, let item = try await channel.receive() {
                #expect(item.index == last[item.producer] + 1)
                last[item.producer] = item.index
                received += 1
            }
            try await group.waitForAll()
        }
    }
}
