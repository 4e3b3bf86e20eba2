import ServiceLifecycle
import Synchronization
import Testing
import UpstreamStub

@testable import WorkerPool

@Suite("WorkerPool against a loopback upstream", .timeLimit(.minutes(3)))
struct WorkerPoolTests {
    @Test func fourWorkersUseExactlyFourConnectionsAndAnswerEveryJob() async throws {
        // A small delay makes overlapping calls likely, so the in-flight peak is meaningful.
        let stub = UpstreamStub { request in
            .delayed(request.sequence % 7 == 0 ? 2 : 0, .result("{\"echo\":\(request.id ?? -1)}"))
        }
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = PoolHarness.makePool(port: port, workers: 4, collector: collector)
            try await PoolHarness.run(pool, jobs: PoolHarness.jobs(2000))

            #expect(stub.connectionsAccepted == 4)
            #expect(stub.peakInFlight <= 4)
            #expect(stub.peakInFlight >= 2, "workers ran in parallel")
            let outcomes = collector.byID
            #expect(outcomes.count == 2000)
            for id in Int64(1)...2000 {
                #expect(outcomes[id]?.outcome.resultText == "{\"echo\":\(id)}")
            }
            #expect(pool.currentStatistics.connectionsOpened == 4)
        }
    }

    @Test func reconnectsWhenTheUpstreamClosesEveryTenthResponse() async throws {
        let stub = UpstreamStub { request in
            let reply = UpstreamStub.Reply.result("{\"echo\":\(request.id ?? -1)}")
            return request.sequence % 10 == 0 ? .closing(reply) : reply
        }
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = PoolHarness.makePool(port: port, workers: 4, collector: collector)
            try await PoolHarness.run(pool, jobs: PoolHarness.jobs(500))

            let succeeded = collector.all.filter { $0.outcome.resultText != nil }.count
            #expect(succeeded == 500)
            // 50 responses closed their connection; each worker opened one more for its next job,
            // except where the close came with a worker's last job.
            // The server may accept the last connection a moment after the pool counted it.
            let opened = pool.currentStatistics.connectionsOpened
            try await waitUntil { stub.connectionsAccepted == opened }
            #expect(opened >= 4 + 50 - 4 && opened <= 4 + 50, "opened \(opened)")
            #expect(pool.currentStatistics.peakCallsInFlight <= 4)
        }
    }

    @Test func requestsCarryTheJSONRPCBodyAndTheIdempotencyKeyOrTheJobID() async throws {
        let seen = Locked([Int64: (key: String?, body: String)]())
        let stub = UpstreamStub { request in
            seen.withLock { $0[request.id ?? -1] = (request.idempotencyKey, request.body) }
            return .result("1")
        }
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = PoolHarness.makePool(port: port, workers: 1, collector: collector)
            let jobs = [
                RPCJob(
                    id: 7, method: "with_key", params: Array("{\"a\":[1,2]}".utf8), idempotencyKey: "order-7",
                    timeout: .seconds(5)),
                RPCJob(id: 12_345_678_901, method: "no\"key", params: nil, timeout: .seconds(5)),
            ]
            try await PoolHarness.run(pool, jobs: jobs)

            let requests = seen.withLock { $0 }
            #expect(requests[7]?.key == "order-7")
            #expect(requests[7]?.body == #"{"jsonrpc":"2.0","method":"with_key","params":{"a":[1,2]},"id":7}"#)
            #expect(requests[12_345_678_901]?.key == "12345678901")
            #expect(requests[12_345_678_901]?.body == #"{"jsonrpc":"2.0","method":"no\"key","id":12345678901}"#)
            #expect(collector.all.count == 2 && collector.all.allSatisfy { $0.outcome.resultText == "1" })
        }
    }

    @Test func aStalledCallFailsAsRetryableAtItsDeadlineAndTheNextCallUsesAFreshConnection() async throws {
        let stub = UpstreamStub { request in request.id == 1 ? .stall : .result("true") }
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = PoolHarness.makePool(port: port, workers: 1, collector: collector)
            let jobs = [
                RPCJob(id: 1, method: "slow", params: nil, timeout: .milliseconds(300)),
                RPCJob(id: 2, method: "fast", params: nil, timeout: .seconds(5)),
            ]
            try await PoolHarness.run(pool, jobs: jobs)

            let outcomes = collector.byID
            let failure = try #require(outcomes[1]?.outcome.failure)
            #expect(failure.isRetryable)
            #expect(failure.message.contains("timed out"))
            #expect(outcomes[2]?.outcome.resultText == "true")
            #expect(stub.connectionsAccepted == 2)
        }
    }

    @Test func aShortDeadlineAfterALongOneIsHonouredAndALongOneAfterAShortOneIsNotCutShort() async throws {
        // One deadline timer serves every call of a connection: it must move earlier for a
        // shorter timeout, and must not fire at an earlier call's deadline.
        let stub = UpstreamStub { request in
            switch request.id {
            case 2: .stall
            case 4: .delayed(600, .result("\"late\""))
            default: .result("\"ok\"")
            }
        }
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = PoolHarness.makePool(port: port, workers: 1, collector: collector)
            let jobs = [
                RPCJob(id: 1, method: "m", params: nil, timeout: .seconds(60)),
                RPCJob(id: 2, method: "m", params: nil, timeout: .milliseconds(300)),
                RPCJob(id: 3, method: "m", params: nil, timeout: .milliseconds(200)),
                RPCJob(id: 4, method: "m", params: nil, timeout: .seconds(5)),
            ]
            let start = ContinuousClock.now
            try await PoolHarness.run(pool, jobs: jobs)
            let elapsed = ContinuousClock.now - start

            let outcomes = collector.byID
            #expect(outcomes[1]?.outcome.resultText == "\"ok\"")
            #expect(outcomes[2]?.outcome.failure?.message.contains("timed out after 0.3 seconds") == true)
            #expect(outcomes[3]?.outcome.resultText == "\"ok\"")
            // Call 3's deadline passed while call 4 was waiting for its answer.
            #expect(outcomes[4]?.outcome.resultText == "\"late\"")
            #expect(elapsed < .seconds(30), "the 300 ms deadline waited for the 60 s timer: \(elapsed)")
        }
    }

    @Test func workersConnectWhenTheUpstreamAppearsWithoutSpinning() async throws {
        // Find a free port, then leave it closed for a second. 127.0.0.2 keeps the port out of
        // reach of the other tests' servers, which bind 127.0.0.1.
        let probe = UpstreamStub()
        let port = try await probe.startBelowEphemeralPorts(host: "127.0.0.2")
        await probe.stop()

        let collector = OutcomeCollector()
        // Connect failures also count for the breaker; this test is about reconnecting alone.
        let pool = PoolHarness.makePool(port: port, workers: 2, collector: collector) { configuration, transport in
            configuration.breaker.failureThreshold = 10_000
            transport.url = UpstreamURL(host: "127.0.0.2", port: port)
        }
        let stub = UpstreamStub()
        let downSince = ContinuousClock.now
        var downFor = Duration.zero
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pool.run() }
            // The upstream stays down until both workers have failed to connect, and a second more.
            try await waitUntil { pool.currentStatistics.connectFailures >= 2 }
            try await Task.sleep(for: .seconds(1))
            try await stub.start(host: "127.0.0.2", port: port)
            downFor = ContinuousClock.now - downSince
            // Workers connect eagerly, before any job arrives.
            try await waitUntil { stub.connectionsAccepted == 2 }
            for job in PoolHarness.jobs(20) { try await pool.submit(job) }
            pool.finish()
            try await group.waitForAll()
        }
        try await stub.stopping {
            #expect(collector.all.count == 20)
            #expect(collector.all.allSatisfy { $0.outcome.resultText != nil })
            #expect(stub.connectionsAccepted == 2)
            // Backoff bounds the attempts: each worker waits at least 20 ms between them.
            let failures = pool.currentStatistics.connectFailures
            let bound = 2 * Int(downFor / .milliseconds(20)) + 2
            #expect(failures >= 2 && failures <= bound, "connect failures: \(failures), at most \(bound) in \(downFor)")
            // With a 200 ms cap, a worker backs off to a few attempts a second: far fewer than the floor allows.
            #expect(Double(failures) < Double(bound) / 2, "backoff grew: \(failures) attempts in \(downFor)")
        }
    }

    @Test(arguments: [
        ("invalid JSON", UpstreamStub.Reply.status(200, body: "{not json")),
        ("wrong id", UpstreamStub.Reply.status(200, body: "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":999}")),
        ("oversize body", UpstreamStub.Reply.result("\"" + String(repeating: "x", count: 5000) + "\"")),
        ("garbage status line", UpstreamStub.Reply.raw("SMTP READY\r\n\r\n")),
        ("truncated chunked body", UpstreamStub.Reply.truncatedChunked),
    ])
    func malformedResponsesAreClassifiedAndTheWorkerSurvives(_ name: String, _ reply: UpstreamStub.Reply) async throws {
        let stub = UpstreamStub { request in request.id == 1 ? reply : .result("\"ok\"") }
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = PoolHarness.makePool(port: port, workers: 1, collector: collector) { _, transport in
                transport.maximumResponseBytes = 1024
            }
            try await PoolHarness.run(pool, jobs: PoolHarness.jobs(3))
            let outcomes = collector.byID
            let failure = try #require(outcomes[1]?.outcome.failure, "\(name) must fail")
            #expect(!failure.message.isEmpty)
            #expect(outcomes[2]?.outcome.resultText == "\"ok\"", "\(name): the worker goes on")
            #expect(outcomes[3]?.outcome.resultText == "\"ok\"")
        }
    }

    @Test func statusCodesAndRPCErrorsAreClassified() async throws {
        let stub = UpstreamStub { request in
            switch request.id {
            case 1: .status(503, headers: [("Retry-After", "7")])
            case 2: .status(429)
            case 3: .status(400, body: "bad")
            case 4: .rpcError(code: -32000, message: "busy")
            case 5: .rpcError(code: -32602, message: "invalid params")
            default: .status(404)
            }
        }
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = PoolHarness.makePool(port: port, workers: 1, collector: collector) { configuration, _ in
                configuration.breaker.failureThreshold = 100
            }
            try await PoolHarness.run(pool, jobs: PoolHarness.jobs(6))
            let outcomes = collector.byID
            #expect(outcomes[1]?.outcome.failure?.isRetryable == true)
            #expect(outcomes[1]?.outcome.failure?.retryAfter == .seconds(7))
            #expect(outcomes[2]?.outcome.failure?.isRetryable == true)
            #expect(outcomes[3]?.outcome.failure?.isRetryable == false)
            #expect(outcomes[4]?.outcome.failure?.isRetryable == true)
            #expect(outcomes[5]?.outcome.failure?.isRetryable == false)
            #expect(outcomes[5]?.outcome.failure?.message.contains("invalid params") == true)
            #expect(outcomes[6]?.outcome.failure?.isRetryable == false)
        }
    }

    @Test func fiveFailuresOpenTheBreakerAndAProbeAfterTheCoolDownClosesIt() async throws {
        let failing = Locked(true)
        let stub = UpstreamStub { _ in failing.withLock { $0 } ? .status(503) : .result("1") }
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = PoolHarness.makePool(port: port, workers: 1, collector: collector) { configuration, _ in
                // Long enough that the "open" phase below is checked well within it on a busy machine.
                configuration.breaker = .init(failureThreshold: 5, coolDown: .seconds(2))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await pool.run() }
                for job in PoolHarness.jobs(5) { try await pool.submit(job) }
                try await waitUntil { collector.all.count == 5 }
                // Open now: these never reach the upstream.
                for id in 6...10 {
                    try await pool.submit(RPCJob(id: Int64(id), method: "m", params: nil, timeout: .seconds(1)))
                }
                try await waitUntil { collector.all.count == 10 }
                #expect(stub.requests == 5)
                #expect(collector.all.suffix(5).allSatisfy { $0.outcome.isNotAttempted })
                // After the cool-down a probe goes through and closes the breaker.
                failing.withLock { $0 = false }
                try await Task.sleep(for: .milliseconds(2100))
                for id in 11...13 {
                    try await pool.submit(RPCJob(id: Int64(id), method: "m", params: nil, timeout: .seconds(1)))
                }
                pool.finish()
                try await group.waitForAll()
            }
            let outcomes = collector.byID
            #expect((11...13).allSatisfy { outcomes[Int64($0)]?.outcome.resultText == "1" })
            #expect(stub.requests == 8)
        }
    }

    @Test func gracefulShutdownCompletesInFlightCallsAndClosesConnections() async throws {
        // Calls take 3 s, so the shutdown surely comes while the first two are in flight.
        let stub = UpstreamStub { request in .delayed(3000, .result("\(request.id ?? 0)")) }
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = PoolHarness.makePool(port: port, workers: 2, collector: collector)
            let group = ServiceGroup(services: [pool], logger: PoolHarness.logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                for job in PoolHarness.jobs(6) { try await pool.submit(job) }
                try await waitUntil { stub.requests >= 2 }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            let outcomes = collector.all
            #expect(outcomes.count == 6)
            // The in-flight calls (two, unless the machine is slow enough for a second round to
            // start before the trigger) completed; every other job was handed back unattempted.
            let calls = stub.requests
            #expect(calls >= 2 && calls <= 4 && calls < 6, "calls: \(calls)")
            #expect(outcomes.filter { $0.outcome.resultText != nil }.count == calls)
            #expect(outcomes.filter { $0.outcome.isNotAttempted }.count == 6 - calls)
            try await waitUntil { stub.openConnections == 0 }
            #expect(pool.currentStatistics.connectionsOpen == 0)
        }
    }
}
