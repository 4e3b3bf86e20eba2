import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

/// Ordering keys, end to end through the binary on every store: a queue's jobs with one key run
/// one at a time and in id order, across daemons, while different keys run side by side.
@Suite("ordering keys, end to end")
struct OrderingKeyTests {
    /// What the upstream saw of one key: its calls' job ids in arrival order, and whether a call
    /// arrived while an earlier call of the key could still have been in flight.
    struct KeyLog: Sendable {
        var ids: [Int64] = []
        var overlaps = 0
        var busyUntil: ContinuousClock.Instant?
    }

    /// An upstream answering each call after `delay` ms and logging the calls per ordering key
    /// (found through `keyOf`, from the JSON-RPC id, which is the job's id). A call arriving
    /// before the previous call of its key was even answered is an overlap: the daemon can
    /// only start the next job of a key once the previous one's outcome is stored, after the
    /// answer.
    static func upstream(
        delay: Int64, keyOf: @escaping @Sendable (Int64) -> String?,
        reply: @escaping @Sendable (UpstreamStub.Request) -> UpstreamStub.Reply = { _ in .result("true") }
    ) -> (UpstreamStub, Locked<[String: KeyLog]>) {
        let logs = Locked([String: KeyLog]())
        let stub = UpstreamStub { request in
            let now = ContinuousClock.now
            if let id = request.id, let key = keyOf(id) {
                logs.withLock { logs in
                    var log = logs[key] ?? KeyLog()
                    if let busyUntil = log.busyUntil, now < busyUntil { log.overlaps += 1 }
                    log.ids.append(id)
                    log.busyUntil = now + .milliseconds(delay)
                    logs[key] = log
                }
            }
            return .delayed(delay, reply(request))
        }
        return (stub, logs)
    }

    /// Enqueues `lines` as one batch and returns the new ids, in order.
    static func enqueue(_ lines: [String], in database: TestDatabase) async throws -> [Int64] {
        let result = try await DispatcherProcess.run(
            ["enqueue", "--batch"], in: database.directory, stdin: lines.joined(separator: "\n") + "\n",
            environment: database.environment)
        #expect(result.status == 0, "\(result.stderr)")
        return result.lines.compactMap { Int64($0) }
    }

    /// Runs one daemon of `workers` workers against `stub` until the queue is idle.
    static func drain(_ database: TestDatabase, through stub: UpstreamStub, workers: Int = 4) async throws {
        let port = try await stub.start()
        try await stub.stopping {
            let result = try await DispatcherProcess.run(
                DaemonTests.runArguments(port: port, workers: workers, extra: ["--exit-when-idle"]),
                in: database.directory, environment: database.environment)
            #expect(result.status == 0, "\(result.stderr)")
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func threeKeysOfSixtyJobsOnTwoDaemonsNeverOverlapAndKeepIdOrder(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let keys = ["account-1", "account-2", "account-3"]
        let lines = (0..<180).map { #"{"method":"apply","ordering_key":"\#(keys[$0 % 3])","params":[\#($0)]}"# }
        let ids = try await Self.enqueue(lines, in: database)
        try #require(ids.count == 180)
        let keyOfID = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, keys[$0 % 3]) })
        let (stub, logs) = Self.upstream(delay: 10, keyOf: { keyOfID[$0] })
        let port = try await stub.start()
        try await stub.stopping {
            // Two daemons of four workers each: the rule holds in the store, across the fleet.
            let arguments = DaemonTests.runArguments(port: port, workers: 4, extra: ["--exit-when-idle"])
            try await DaemonTests.runTogether(2, arguments, in: database)

            let jobs = try await database.jobs()
            #expect(jobs.count == 180 && jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 })
            #expect(jobs.allSatisfy { !$0.waitsForOrderingKey && $0.orderingKey == keyOfID[$0.id] })
            let seen = logs.withLock { $0 }
            for (index, key) in keys.enumerated() {
                let expected = ids.enumerated().filter { $0.offset % 3 == index }.map(\.element)
                #expect(seen[key]?.ids == expected, "\(key) ran out of id order")
                #expect(seen[key]?.overlaps == 0, "\(key) had calls in flight at once")
            }
            // The keys ran side by side: more than one call was in flight at a time, never more
            // than one per key.
            #expect(stub.peakInFlight >= 2 && stub.peakInFlight <= 3, "peak \(stub.peakInFlight)")
        }
    }

    @Test(arguments: StoreKind.available)
    func aKeyWhoseFirstJobFailsTwiceHoldsTheRestUntilItSucceeds(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let lines =
            (0..<5).map { #"{"method":"apply","ordering_key":"order-7","params":[\#($0)]}"# }
            + (0..<5).map { #"{"method":"other","params":[\#($0)]}"# }
        let ids = try await Self.enqueue(lines, in: database)
        try #require(ids.count == 10)
        let keyed = Set(ids.prefix(5))
        let first = ids[0]
        let (stub, logs) = Self.upstream(
            delay: 5, keyOf: { keyed.contains($0) ? "order-7" : nil },
            reply: { request in
                request.id == first && request.timesSeen <= 2 ? .status(503, body: "busy") : .result("true")
            })
        try await Self.drain(database, through: stub)

        let jobs = Dictionary(uniqueKeysWithValues: try await database.jobs().map { ($0.id, $0) })
        #expect(jobs.values.allSatisfy { $0.state == .succeeded })
        #expect(jobs[first]?.attempts == 3)
        // The first job's three attempts, and only then the others, in id order.
        #expect(logs.withLock { $0["order-7"]?.ids } == [first, first, first] + ids[1..<5])
    }

    @Test(arguments: StoreKind.available)
    func aFailureForGoodOrACancelLetsTheNextJobOfTheKeyRun(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let lines = (0..<4).map { #"{"method":"apply","ordering_key":"device-9","params":[\#($0)],"max_attempts":1}"# }
        let ids = try await Self.enqueue(lines, in: database)
        try #require(ids.count == 4)
        // The second job is cancelled while it waits; the first fails for good.
        let cancel = try await DispatcherProcess.run(
            ["cancel", String(ids[1])], in: database.directory, environment: database.environment)
        #expect(cancel.status == 0, "\(cancel.stderr)")
        let waiting = try await database.jobs().filter(\.waitsForOrderingKey).map(\.id)
        #expect(waiting == [ids[2], ids[3]])
        let keyed = Set(ids)
        let (stub, logs) = Self.upstream(
            delay: 1, keyOf: { keyed.contains($0) ? "device-9" : nil },
            reply: { request in request.id == ids[0] ? .status(400, body: "refused") : .result("true") })
        try await Self.drain(database, through: stub)

        let states = try await database.jobs().map(\.state)
        #expect(states == [.failed, .cancelled, .succeeded, .succeeded])
        #expect(logs.withLock { $0["device-9"]?.ids } == [ids[0], ids[2], ids[3]])
    }

    @Test(arguments: StoreKind.available)
    func aRetriedFailedJobWaitsForTheKeysRunningChainAndGoesNext(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let ids = try await Self.enqueue(
            (0..<3).map { #"{"method":"apply","ordering_key":"k","params":[\#($0)]}"# }, in: database)
        try #require(ids.count == 3)
        let store = try database.location
        // The first fails for good and is sent back by an operator while the second waits to
        // run: it waits too, behind the second, which now holds the key.
        try await store.withOperatorStore { store in
            let claimed = try await store.list(state: nil, queue: nil, limit: 10)
            #expect(claimed.map(\.waitsForOrderingKey) == [false, true, true])
            _ = try await store.cancel(ids: [ids[0]], now: WallClock.nowMilliseconds())
            #expect(try await store.job(id: ids[1])?.waitsForOrderingKey == false)
            #expect(try await store.job(id: ids[2])?.waitsForOrderingKey == true)
            #expect(try await store.retry(ids: [ids[0]], now: WallClock.nowMilliseconds()) == 1)
            #expect(try await store.job(id: ids[0])?.waitsForOrderingKey == true)
            // The second is cancelled too: the first (the lowest id left) is next, then the third.
            _ = try await store.cancel(ids: [ids[1]], now: WallClock.nowMilliseconds())
            #expect(try await store.job(id: ids[0])?.waitsForOrderingKey == false)
            #expect(try await store.job(id: ids[2])?.waitsForOrderingKey == true)
        }
    }

    /// Jobs written by other programs follow the rule as the CLI's do: the SQL function and a
    /// plain INSERT on PostgreSQL, the `enqueue` view and a plain INSERT on SQLite.
    @Test(arguments: StoreKind.available)
    func jobsWrittenWithSQLWaitBehindTheirKeyToo(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let first = try await Self.enqueue([#"{"method":"apply","ordering_key":"sql-key"}"#], in: database)
        try #require(first.count == 1)
        if kind.isPostgres {
            let app = try await PostgresEnqueueFunctionTests.connect(database)
            defer { Task { try? await app.close() } }
            _ = try await PostgresEnqueueFunctionTests.run(
                "SELECT dispatcher.enqueue('apply', ordering_key => 'sql-key')", on: app)
            _ = try await PostgresEnqueueFunctionTests.run(
                """
                INSERT INTO dispatcher.jobs (method, run_at, created_at, ordering_key)
                VALUES ('apply', 0, 0, 'sql-key'), ('apply', 0, 0, 'other-key')
                """, on: app)
        } else {
            let inserted = try SQLiteEnqueueViewTests.shell(
                """
                INSERT INTO enqueue (method, ordering_key) VALUES ('apply', 'sql-key');
                INSERT INTO jobs (method, run_at, created_at, ordering_key)
                VALUES ('apply', 0, 0, 'sql-key'), ('apply', 0, 0, 'other-key');
                """, on: database.directory.database)
            try #require(inserted?.status == 0, "\(inserted?.stderr ?? "no sqlite3")")
        }
        let jobs = try await database.jobs()
        #expect(jobs.map(\.orderingKey) == ["sql-key", "sql-key", "sql-key", "other-key"])
        #expect(jobs.map(\.waitsForOrderingKey) == [false, true, true, false])
        // The first finishes; the next in id order may run, the third still waits.
        try await database.location.withOperatorStore { store in
            _ = try await store.cancel(ids: [first[0]], now: WallClock.nowMilliseconds())
        }
        #expect(try await database.jobs().map(\.waitsForOrderingKey) == [false, false, true, false])
    }
}
