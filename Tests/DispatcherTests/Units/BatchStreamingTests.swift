import Foundation
import Testing

@testable import Dispatcher

/// `enqueue --batch` streams: lines are parsed block by block, and the parsed jobs wait in a
/// temporary file until the whole batch is validated.
@Suite("batch streaming", .timeLimit(.minutes(3)))
struct BatchStreamingTests {
    @Test func theSpoolGivesBackEveryFieldInOrderAndInChunks() throws {
        let spool = try BatchSpool()
        var jobs = [NewJob]()
        for index in 0..<1000 {
            var job = NewJob(method: "m\(index)", runAt: 1_000_000 + Int64(index))
            job.queue = index % 2 == 0 ? "default" : "q-\(index)"
            if index % 3 != 0 {
                let pad = String(repeating: "é", count: index)
                job.params = "{\"n\":\(index),\"pad\":\"\(pad)\"}"
            }
            if index % 5 == 0 { job.idempotencyKey = "key-\(index)" }
            job.priority = Int64(index) - 500
            if index % 7 != 0 { job.maxAttempts = Int64(index % 7) }
            if index % 4 == 0 { job.timeoutMilliseconds = Int64(index + 1) }
            jobs.append(job)
        }
        for job in jobs { try spool.append(job) }
        try spool.rewind()
        #expect(spool.count == 1000)
        var read = [NewJob]()
        while true {
            let chunk = try spool.next(333)
            if chunk.isEmpty { break }
            #expect(chunk.count <= 333)
            read += chunk
        }
        #expect(read.count == jobs.count)
        for (got, want) in zip(read, jobs) {
            #expect(got.queue == want.queue)
            #expect(got.method == want.method)
            #expect(got.params == want.params)
            #expect(got.idempotencyKey == want.idempotencyKey)
            #expect(got.priority == want.priority)
            #expect(got.runAt == want.runAt)
            #expect(got.maxAttempts == want.maxAttempts)
            #expect(got.timeoutMilliseconds == want.timeoutMilliseconds)
        }
    }

    @Test func aFileIsParsedAcrossBlocksWithLineNumbers() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("jobs.ndjson")
        // A line longer than a read block, lines ending exactly on block edges, no final newline.
        let long = String(repeating: "x", count: 600_000)
        var text = ""
        for index in 0..<5000 { text += "{\"method\":\"m\(index)\",\"params\":[\(index)]}\n" }
        text += "{\"method\":\"long\",\"params\":[\"\(long)\"]}\n\n  \n{\"method\":\"last\"}"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        var jobs = [NewJob]()
        try BatchParser(now: 7).parse(contentsOf: path) { jobs.append($0) }
        #expect(jobs.count == 5002)
        #expect(jobs[4999].method == "m4999" && jobs[4999].params == "[4999]")
        #expect(jobs[5000].params?.utf8.count == long.utf8.count + 4)
        #expect(jobs[5001].method == "last" && jobs[5001].runAt == 7)

        try (text + "\n{\"method\":1}\n").write(toFile: path, atomically: true, encoding: .utf8)
        var seen = 0
        #expect {
            try BatchParser(now: 7).parse(contentsOf: path) { _ in seen += 1 }
        } throws: { error in
            "\(error)".hasPrefix("line 5005: ")
        }
        #expect(seen == 5002)
    }
}
