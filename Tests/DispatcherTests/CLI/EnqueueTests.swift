import Foundation
import Testing

@testable import Dispatcher

@Suite("dispatcher enqueue and inspection, end to end", .timeLimit(.minutes(3)))
struct EnqueueTests {
    @Test func enqueueThenShowRoundTripsEveryField() async throws {
        let directory = try TemporaryDirectory()
        let enqueued = try await DispatcherProcess.run(
            [
                "enqueue", "--method", "eth_getBalance", "--params", "{\"address\":\"0xabc\",\"n\":[1,2.5,null]}",
                "--queue", "chain", "--key", "balance-1", "--priority", "7", "--at", "2030-01-02T03:04:05.678Z",
                "--max-attempts", "4", "--timeout", "2500ms",
            ], in: directory)
        #expect(enqueued.status == 0, "\(enqueued.stderr)")
        let id = try #require(Int64(enqueued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))

        let shown = try await DispatcherProcess.run(["show", String(id), "--json"], in: directory)
        #expect(shown.status == 0)
        let job = try jsonObject(shown.stdout)
        #expect(job["id"] as? Int64 == id || (job["id"] as? Int).map(Int64.init) == id)
        #expect(job["queue"] as? String == "chain")
        #expect(job["method"] as? String == "eth_getBalance")
        let params = try #require(job["params"] as? [String: Any])
        #expect(params["address"] as? String == "0xabc")
        #expect(job["key"] as? String == "balance-1")
        #expect(job["priority"] as? Int == 7)
        #expect(job["state"] as? String == "pending")
        #expect(job["retrying"] as? Bool == false)
        #expect(job["attempts"] as? Int == 0)
        #expect(job["max_attempts"] as? Int == 4)
        #expect(job["timeout_ms"] as? Int == 2500)
        #expect((job["run_at"] as? NSNumber)?.int64Value == 1_893_553_445_678)
        #expect(job["result"] is NSNull)
        #expect(job["last_error"] is NSNull)

        // The stored row says the same.
        let row = try #require(try Rows(directory.database).store.job(id: id))
        #expect(row.params == "{\"address\":\"0xabc\",\"n\":[1,2.5,null]}")
        #expect(row.runAt == 1_893_553_445_678)
    }

    @Test func listFiltersByStateAndQueue() async throws {
        let directory = try TemporaryDirectory()
        let batch = """
            {"method":"a","queue":"q1"}
            {"method":"b","queue":"q2"}
            {"method":"c","queue":"q1"}
            {"method":"d","queue":"q2"}

            """
        let ids = try await DispatcherProcess.run(["enqueue", "--batch", "-"], in: directory, stdin: batch).lines
        #expect(ids.count == 4)
        #expect(try await DispatcherProcess.run(["cancel", ids[2]], in: directory).status == 0)

        func listed(_ arguments: [String]) async throws -> [String] {
            let result = try await DispatcherProcess.run(["list", "--json"] + arguments, in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            return try result.lines.map { try jsonObject($0)["method"] as? String ?? "?" }
        }
        #expect(try await listed([]) == ["a", "b", "c", "d"])
        #expect(try await listed(["--queue", "q1"]) == ["a", "c"])
        #expect(try await listed(["--state", "cancelled"]) == ["c"])
        #expect(try await listed(["--state", "pending", "--queue", "q1"]) == ["a"])
        #expect(try await listed(["--limit", "2"]) == ["a", "b"])

        let table = try await DispatcherProcess.run(["list", "--queue", "q2"], in: directory)
        #expect(table.lines.count == 3)
        #expect(table.lines[0].hasPrefix("ID"))
        #expect(table.lines[1].contains("q2") && table.lines[1].contains("pending"))
    }

    @Test func theSameIdempotencyKeyTwiceMakesOneRowAndPrintsTheFirstID() async throws {
        let directory = try TemporaryDirectory()
        let first = try await DispatcherProcess.run(["enqueue", "--method", "pay", "--key", "order-42"], in: directory)
        let second = try await DispatcherProcess.run(
            ["enqueue", "--method", "pay", "--key", "order-42"], in: directory)
        #expect(first.status == 0 && second.status == 0)
        #expect(first.stdout == second.stdout)
        #expect(second.stderr.contains("nothing enqueued"))
        // Another queue may reuse the key.
        let other = try await DispatcherProcess.run(
            ["enqueue", "--method", "pay", "--key", "order-42", "--queue", "other"], in: directory)
        #expect(other.stdout != first.stdout)
        // Within a batch, a repeated key also maps to the existing job.
        let batch = try await DispatcherProcess.run(
            ["enqueue", "--batch"], in: directory,
            stdin: "{\"method\":\"pay\",\"key\":\"order-42\"}\n{\"method\":\"pay\",\"key\":\"new\"}\n")
        #expect(batch.lines.first == first.stdout.trimmingCharacters(in: .newlines))
        #expect(try Rows(directory.database).count() == 3)
    }

    @Test func fourConcurrentBatchEnqueuersAndAListerNeverSeeALockedDatabase() async throws {
        let directory = try TemporaryDirectory()
        // Create the schema first so all five start on the same footing.
        try await DispatcherProcess.run(["stats"], in: directory)
        let inputs = try (0..<4).map { index -> String in
            let path = directory.path("batch-\(index).ndjson")
            try ndjson(5000, start: index * 5000).write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let lister = DispatcherLoop(directory: directory, arguments: ["list", "--state", "pending", "--limit", "50"])
        lister.start()
        let enqueuers = try inputs.map {
            try DispatcherProcess.start(["enqueue", "--batch", $0, "--chunk-size", "500"], in: directory)
        }
        var results = [DispatcherProcess.Result]()
        for enqueuer in enqueuers { results.append(try await enqueuer.wait()) }
        let listings = lister.stop()

        var ids = [String]()
        for result in results {
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stderr.contains("locked"))
            ids += result.lines
        }
        #expect(ids.count == 20_000)
        #expect(Set(ids).count == 20_000, "every id unique")
        #expect(try Rows(directory.database).count() == 20_000)
        #expect(listings.runs > 0)
        #expect(listings.failures == [], "the lister never failed")
    }

    @Test func killingABatchEnqueueMidStreamLeavesWholeChunksOnly() async throws {
        let directory = try TemporaryDirectory()
        let input = directory.path("big.ndjson")
        try ndjson(200_000).write(toFile: input, atomically: true, encoding: .utf8)
        try await DispatcherProcess.run(["stats"], in: directory)
        let watcher = try Rows(directory.database)
        let running = try DispatcherProcess.start(["enqueue", "--batch", input, "--chunk-size", "1000"], in: directory)
        // Kill it as soon as its first chunks are visible: mid-stream, between or inside chunks.
        var seen: Int64 = 0
        for _ in 0..<30_000 where running.isRunning {
            seen = try watcher.scalar("SELECT count(*) FROM jobs")
            if seen > 0 { break }
            usleep(1_000)
        }
        running.signal(SIGKILL)
        _ = try await running.wait()
        #expect(seen > 0, "the kill came after the first commit")

        let rows = try Rows(directory.database)
        #expect(try rows.scalar("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") == 1)
        let count = try rows.count()
        #expect(count < 200_000, "killed before the end")
        #expect(count % 1000 == 0, "only whole chunks: \(count) rows")
        // The survivors are exactly the first chunks, in order.
        let jobs = try rows.all()
        #expect(jobs.enumerated().allSatisfy { $0.element.params == "[\($0.offset)]" })
    }
}

/// Runs a dispatcher command over and over in the background until stopped.
final class DispatcherLoop: @unchecked Sendable {
    let directory: TemporaryDirectory
    let arguments: [String]
    private let lock = NSLock()
    private var stopped = false
    private var runs = 0
    private var failures = [String]()
    private var thread: Thread?

    init(directory: TemporaryDirectory, arguments: [String]) {
        self.directory = directory
        self.arguments = arguments
    }

    func start() {
        let thread = Thread { [self] in
            // Bounded: at most 10,000 runs or until stopped.
            for _ in 0..<10_000 {
                if lock.withLock({ stopped }) { break }
                let result = try? DispatcherProcess.runBlocking(arguments, in: directory, timeout: .seconds(30))
                lock.withLock {
                    runs += 1
                    if let result, result.status != 0 { failures.append(result.stderr) }
                    if result == nil { failures.append("could not start") }
                }
            }
        }
        self.thread = thread
        thread.start()
    }

    func stop() -> (runs: Int, failures: [String]) {
        lock.withLock { stopped = true }
        while thread?.isFinished == false { usleep(5_000) }
        return lock.withLock { (runs, failures) }
    }
}
