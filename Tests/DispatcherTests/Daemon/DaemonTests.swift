import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

@Suite("dispatcher run, end to end against a loopback upstream", .timeLimit(.minutes(3)))
struct DaemonTests {
    /// Flags that keep retries and crash recovery short in tests.
    static func runArguments(port: Int, host: String = "127.0.0.1", workers: Int = 8, extra: [String] = []) -> [String]
    {
        [
            "run", "--upstream", "http://\(host):\(port)/rpc", "--workers", String(workers), "--retry-base", "20ms",
            "--retry-cap", "100ms", "--log-level", "warning",
        ] + extra
    }

    static func enqueue(_ count: Int, in directory: TemporaryDirectory, extra: String = "") async throws {
        let result = try await DispatcherProcess.run(
            ["enqueue", "--batch", "--quiet"], in: directory, stdin: ndjson(count, extra: extra))
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// Runs `count` daemons with `arguments` on `database` at once and expects each to exit 0.
    static func runTogether(_ count: Int, _ arguments: [String], in database: TestDatabase) async throws {
        try await withThrowingTaskGroup(of: DispatcherProcess.Result.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await DispatcherProcess.run(
                        arguments, in: database.directory, environment: database.environment)
                }
            }
            for try await result in group { #expect(result.status == 0, "\(result.stderr)") }
        }
    }

    static func enqueue(_ count: Int, in database: TestDatabase, extra: String = "") async throws {
        let result = try await DispatcherProcess.run(
            ["enqueue", "--batch", "--quiet"], in: database.directory, stdin: ndjson(count, extra: extra),
            environment: database.environment)
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test(arguments: StoreKind.withPoolers)
    func tenThousandJobsSucceedOverExactlyEightConnections(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        try await Self.enqueue(10_000, in: database)
        let stub = UpstreamStub { request in .result("{\"echo\":\(request.id ?? -1)}") }
        let port = try await stub.start()
        try await stub.stopping {
            try await Self.runTogether(1, Self.runArguments(port: port, extra: ["--exit-when-idle"]), in: database)

            let jobs = try await database.jobs()
            #expect(jobs.count == 10_000)
            #expect(
                jobs.allSatisfy { $0.state == .succeeded && $0.result == "{\"echo\":\($0.id)}" && $0.attempts == 1 })
            #expect(stub.connectionsAccepted == 8)
            #expect(stub.peakInFlight <= 8)
            #expect(stub.timesSeen.count == 10_000)
            #expect(stub.timesSeen.values.allSatisfy { $0 == 1 })
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func retryableFailuresAreRetriedAndPermanentOnesFailAtOnce(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let directory = database.directory
        let batch = """
            {"method":"flaky","params":[1]}
            {"method":"flaky","params":[2],"max_attempts":2}
            {"method":"bad","params":[3]}

            """
        #expect(
            try await DispatcherProcess.run(
                ["enqueue", "--batch"], in: directory, stdin: batch, environment: database.environment
            ).status == 0)
        let stub = UpstreamStub { request in
            if request.method == "bad" { return .status(400, body: "no such thing") }
            return request.timesSeen <= 2 ? .status(503, body: "warming up") : .result("\"done\"")
        }
        let port = try await stub.start()
        try await stub.stopping {
            try await Self.runTogether(1, Self.runArguments(port: port, extra: ["--exit-when-idle"]), in: database)
            let jobs = try await database.jobs()
            #expect(jobs[0].state == .succeeded && jobs[0].attempts == 3 && jobs[0].result == "\"done\"")
            #expect(jobs[1].state == .failed && jobs[1].attempts == 2)
            #expect(jobs[1].lastError?.contains("503") == true)
            #expect(jobs[2].state == .failed && jobs[2].attempts == 1)
            #expect(jobs[2].lastError?.contains("400") == true)
            #expect(stub.timesSeen[3] == 1)
        }
    }

    @Test(arguments: StoreKind.available)
    func aKilledDaemonsJobsAreRecoveredByTheNextOne(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let directory = database.directory
        try await Self.enqueue(10_000, in: database)
        let stub = UpstreamStub { request in .delayed(request.sequence % 4 == 0 ? 1 : 0, .result("true")) }
        let port = try await stub.start()
        try await stub.stopping {
            // Short timeouts and lease margin: a dead daemon's leases expire 2 s after its last renewal.
            let arguments = Self.runArguments(port: port, extra: ["--timeout", "1s", "--lease-margin", "1s"])

            let first = try DispatcherProcess.start(arguments, in: directory, environment: database.environment)
            try await waitUntil { stub.requests >= 3000 }
            first.signal(SIGKILL)
            _ = try await first.wait()
            let atKill = try await database.jobs()
            let runningAtKill = atKill.filter { $0.state == .running }.count
            let succeededAtKill = atKill.filter { $0.state == .succeeded }.count
            #expect(succeededAtKill < 10_000, "killed mid-run")

            let second = try await DispatcherProcess.run(
                arguments + ["--exit-when-idle"], in: directory, environment: database.environment,
                timeout: .seconds(120))
            #expect(second.status == 0, "\(second.stderr)")
            let jobs = try await database.jobs()
            #expect(jobs.count == 10_000)
            #expect(jobs.allSatisfy { $0.state == .succeeded })
            let seen = stub.timesSeen
            #expect((1...10_000).allSatisfy { (seen[Int64($0)] ?? 0) >= 1 }, "every job reached the upstream")
            let duplicates = seen.values.reduce(0) { $0 + $1 - 1 }
            #expect(duplicates <= runningAtKill, "duplicates \(duplicates) ≤ jobs held at the kill \(runningAtKill)")
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func sigtermDrainsInFlightCallsAndHandsBufferedJobsBack(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let directory = database.directory
        try await Self.enqueue(2000, in: database)
        let stub = UpstreamStub { _ in .delayed(200, .result("1")) }
        let port = try await stub.start()
        try await stub.stopping {
            let daemon = try DispatcherProcess.start(
                Self.runArguments(port: port, extra: ["--drain-timeout", "5s"]), in: directory,
                environment: database.environment)
            try await waitUntil { stub.requests >= 20 }
            let signalled = ContinuousClock.now
            daemon.signal(SIGTERM)
            let result = try await daemon.wait(timeout: .seconds(20))
            let took = ContinuousClock.now - signalled
            #expect(result.status == 0, "\(result.stderr)")
            #expect(took < .seconds(5), "exited within the drain timeout (took \(took))")

            let jobs = try await database.jobs()
            #expect(jobs.allSatisfy { $0.state != .running })
            let succeeded = jobs.filter { $0.state == .succeeded }
            #expect(succeeded.count == stub.requests, "every call that started was completed and recorded")
            // Claimed but never called: back to pending with no attempt counted.
            let pending = jobs.filter { $0.state == .pending }
            #expect(pending.count == 2000 - succeeded.count)
            #expect(pending.allSatisfy { $0.attempts == 0 && $0.leaseOwner == nil })
        }
    }

    @Test(arguments: StoreKind.withPoolers)
    func twoDaemonsOnOneDatabaseRunEachJobOnce(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let directory = database.directory
        try await Self.enqueue(10_000, in: database)
        let stub = UpstreamStub { _ in .result("1") }
        let port = try await stub.start()
        try await stub.stopping {
            let arguments = Self.runArguments(port: port, workers: 4, extra: ["--exit-when-idle"])
            let first = try DispatcherProcess.start(arguments, in: directory, environment: database.environment)
            let second = try DispatcherProcess.start(arguments, in: directory, environment: database.environment)
            let results = [try await first.wait(), try await second.wait()]
            for result in results { #expect(result.status == 0, "\(result.stderr)") }

            let jobs = try await database.jobs()
            #expect(jobs.count == 10_000 && jobs.allSatisfy { $0.state == .succeeded })
            let seen = stub.timesSeen
            #expect(seen.count == 10_000)
            #expect(seen.values.allSatisfy { $0 == 1 }, "no job ran twice")
        }
    }

    @Test(arguments: StoreKind.available)
    func anUpstreamOutageOpensTheBreakerWithoutBurningAttempts(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let directory = database.directory
        try await Self.enqueue(5000, in: database)
        // From the 300th call on, the upstream is down for 5 s: every call it receives has its
        // connection cut without an answer. Driven by the stub itself, so the outage comes
        // mid-run however slowly this machine schedules the test.
        let outage = Locked<(start: ContinuousClock.Instant?, calls: Int)>((nil, 0))
        let stub = UpstreamStub { request in
            let down = outage.withLock { state -> Bool in
                if state.start == nil, request.sequence >= 300 { state.start = .now }
                guard let start = state.start, ContinuousClock.now - start < .seconds(5) else { return false }
                state.calls += 1
                return true
            }
            return down ? .raw("") : .delayed(1, .result("1"))
        }
        let port = try await stub.start()
        try await stub.stopping {
            let result = try await DispatcherProcess.run(
                Self.runArguments(
                    port: port, extra: ["--breaker-cool-down", "1s", "--exit-when-idle", "--log-level", "info"]),
                in: directory, environment: database.environment)
            #expect(result.status == 0)
            #expect(result.stderr.contains("circuit breaker opened"))
            #expect(result.stderr.contains("circuit breaker closed"))

            let jobs = try await database.jobs()
            #expect(jobs.count == 5000 && jobs.allSatisfy { $0.state == .succeeded })
            // Only the calls that reached the dead upstream cost an attempt: those in flight when
            // it died, the ones that opened the breaker, and one probe per 1 s cool-down.
            let callsDuringOutage = outage.withLock { $0.calls }
            let extraAttempts = jobs.reduce(0) { $0 + Int($1.attempts) - 1 }
            #expect(extraAttempts == callsDuringOutage, "every failed call, and nothing else, cost an attempt")
            // Before the breaker opens: the 8 calls in flight plus the few that workers start before
            // the 5th failure lands; after: about one probe per 1 s cool-down. Without a breaker, 8
            // workers retrying every 20-100 ms would make hundreds of calls in those 5 s.
            #expect(callsDuringOutage <= 40, "breaker open: calls during the 5 s outage: \(callsDuringOutage)")
        }
    }

    @Test(arguments: StoreKind.available)
    func aConfigFileServesSeveralQueuesEachWithItsOwnUpstreamAndWorkers(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let directory = database.directory
        let batch =
            (0..<300).map { "{\"method\":\"fast\",\"queue\":\"fast\",\"params\":[\($0)]}\n" }.joined()
            + (0..<100).map { "{\"method\":\"slow\",\"queue\":\"slow\",\"params\":[\($0)]}\n" }.joined()
        #expect(
            try await DispatcherProcess.run(
                ["enqueue", "--batch", "--quiet"], in: directory, stdin: batch, environment: database.environment
            ).status == 0)
        let fast = UpstreamStub { request in request.method == "fast" ? .result("\"fast\"") : .status(400) }
        let slow = UpstreamStub { request in request.method == "slow" ? .delayed(2, .result("\"slow\"")) : .status(400)
        }
        let fastPort = try await fast.start()
        let slowPort = try await slow.start()
        defer {
            Task {
                await fast.stop()
                await slow.stop()
            }
        }
        let config = """
            {"drain_timeout": "5s", "io_threads": 2, "queues": [
              {"name": "fast", "upstream": "http://127.0.0.1:\(fastPort)/", "workers": 3, "timeout": "2s"},
              {"name": "slow", "upstream": "http://127.0.0.1:\(slowPort)/", "workers": 2, "max_attempts": 3,
               "retry": {"base": "10ms", "cap": "50ms"}, "breaker": {"failures": 5, "cool_down": "1s"}}
            ]}
            """
        try config.write(toFile: directory.path("dispatcher.json"), atomically: true, encoding: .utf8)
        let result = try await DispatcherProcess.run(
            ["run", "--config", "dispatcher.json", "--exit-when-idle", "--log-level", "warning"], in: directory,
            environment: database.environment)
        #expect(result.status == 0, "\(result.stderr)")
        let jobs = try await database.jobs()
        #expect(jobs.count == 400)
        #expect(jobs.allSatisfy { $0.state == .succeeded && $0.result == "\"\($0.queue)\"" })
        #expect(fast.connectionsAccepted == 3 && fast.peakInFlight <= 3 && fast.requests == 300)
        #expect(slow.connectionsAccepted == 2 && slow.peakInFlight <= 2 && slow.requests == 100)

        try "{\"queues\": [{\"name\": \"x\"}]}".write(
            toFile: directory.path("bad.json"), atomically: true, encoding: .utf8)
        let bad = try await DispatcherProcess.run(
            ["run", "--config", "bad.json"], in: directory, environment: database.environment)
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("missing 'upstream'"))
    }

    @Test func badRunFlagsFailWithOneLine() async throws {
        let directory = try TemporaryDirectory()
        try "{\"io_threads\": 65, \"queues\": [{\"upstream\": \"http://127.0.0.1:1/\"}]}".write(
            toFile: directory.path("threads.json"), atomically: true, encoding: .utf8)
        for arguments in [
            ["run"], ["run", "--upstream", "ftp://x"], ["run", "--upstream", "http://127.0.0.1:1/", "--workers", "0"],
            ["run", "--config", directory.path("missing.json")],
            ["run", "--upstream", "http://127.0.0.1:1/", "--io-threads", "0"],
            ["run", "--config", directory.path("threads.json")],
        ] {
            let result = try await DispatcherProcess.run(arguments, in: directory, timeout: .seconds(20))
            #expect(result.status != 0)
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
    }
}
