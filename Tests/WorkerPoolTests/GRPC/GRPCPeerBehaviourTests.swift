import NIOHTTP2
import Testing
import UpstreamStub

@testable import WorkerPool

/// The gRPC transport against servers that behave as busy real ones do: a PING after every
/// response (grpc-go's and gRPC C-core's bandwidth estimation), GOAWAY after a number of streams
/// (a maximum connection age, a graceful restart), refused streams, and a real PING flood.
@Suite("GRPCTransport as a good HTTP/2 peer", .timeLimit(.minutes(5)))
struct GRPCPeerBehaviourTests {
    static func makePool(
        port: Int, workers: Int, collector: OutcomeCollector,
        configure: (inout GRPCTransport.Configuration) -> Void = { _ in }
    ) throws -> WorkerPool<GRPCTransport> {
        try GRPCTransportTests.makePool(port: port, workers: workers, collector: collector, configure: configure)
    }

    /// Starts a peer that behaves as `options` say and runs `body` with it and a pool of
    /// `workers` connected to it; the peer is stopped after.
    static func withPeer(
        _ options: GRPCUpstreamStub.Options, workers: Int,
        _ body: (GRPCUpstreamStub, WorkerPool<GRPCTransport>, OutcomeCollector) async throws -> Void
    ) async throws {
        let stub = GRPCUpstreamStub(methods: [GRPCTransportTests.method], options: options)
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            try await body(stub, try makePool(port: port, workers: workers, collector: collector), collector)
        }
    }

    /// Runs `jobs` through `pool`, handing every job that comes back not attempted in again (as
    /// the daemon's queue does), until each has a final outcome. Returns how many were handed
    /// back.
    static func runResubmitting(
        _ pool: WorkerPool<GRPCTransport>, jobs: [RPCJob], collector: OutcomeCollector,
        whileRunning: () async throws -> Void = {}
    ) async throws -> Int {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pool.run() }
            for job in jobs { try await pool.submit(job) }
            var resubmitted = 0
            var final = 0
            // Bounded: every pass either finds new final outcomes or resubmits; 60 s at most.
            let deadline = ContinuousClock.now + .seconds(120)
            while final < jobs.count, ContinuousClock.now < deadline {
                let all = collector.all
                let handedBack = all.filter { if case .notAttempted = $0.outcome { return true } else { return false } }
                final = all.count - handedBack.count
                if handedBack.count > resubmitted {
                    for outcome in handedBack[resubmitted...] { try await pool.submit(outcome.job) }
                    resubmitted = handedBack.count
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            try await whileRunning()
            pool.finish()
            try await group.waitForAll()
            return resubmitted
        }
    }

    static func finalOutcomes(_ collector: OutcomeCollector) -> [JobOutcome] {
        collector.all.filter { if case .notAttempted = $0.outcome { return false } else { return true } }
    }

    @Test func aServerThatPingsAfterEveryResponseKeepsItsFourConnections() async throws {
        var options = GRPCUpstreamStub.Options()
        options.pingAfterEveryResponse = true
        try await Self.withPeer(options, workers: 4) { stub, pool, collector in
            try await PoolHarness.run(pool, jobs: GRPCTransportTests.jobs(10_000))

            #expect(collector.all.count == 10_000)
            #expect(collector.all.allSatisfy { $0.outcome.resultText != nil }, "no retry, no failure")
            #expect(stub.connectionsAccepted == 4)
            #expect(pool.currentStatistics.connectionsOpened == 4)
            #expect(stub.calls == 10_000)
            #expect(stub.distinctKeys == 10_000 && stub.maxTimesSeen == 1, "each call executed once")
            #expect(stub.pingsSent == 10_000)
            #expect(stub.goAwaysReceived.isEmpty, "the client never hung up: \(stub.goAwaysReceived)")
        }
    }

    @Test func aServerSendingGoAwayEveryThousandStreamsCostsOneConnectionEachAndNoAttempt() async throws {
        var options = GRPCUpstreamStub.Options()
        options.goAwayEvery = 1000
        options.pingAfterEveryResponse = true
        try await Self.withPeer(options, workers: 4) { stub, pool, collector in
            let handedBack = try await Self.runResubmitting(
                pool, jobs: GRPCTransportTests.jobs(10_000), collector: collector
            ) {
                // Every retired connection is replaced before the worker's next job: wait for the
                // replacements of the last ones, then count while the pool still runs.
                try await waitUntil(timeout: .seconds(60)) { stub.connectionsAccepted == 4 + stub.goAwaysSent }
            }

            let final = Self.finalOutcomes(collector)
            #expect(final.count == 10_000)
            #expect(final.allSatisfy { $0.outcome.resultText != nil }, "no failed attempt")
            // 10,000 streams, each connection retired at 1,000, the last four part-used.
            #expect(stub.goAwaysSent >= 7)
            #expect(stub.connectionsAccepted == 4 + stub.goAwaysSent)
            #expect(pool.currentStatistics.connectionsOpened == 4 + stub.goAwaysSent)
            #expect(stub.calls == 10_000 && stub.maxTimesSeen == 1, "each call executed once")
            // Handed back without an attempt: streams the server refused, and at most one call per
            // retired connection that had not been sent yet when the GOAWAY came.
            #expect(handedBack <= stub.streamsRefused + stub.goAwaysSent)
        }
    }

    @Test func aRefusedStreamIsSentAgainWithoutAnAttempt() async throws {
        var options = GRPCUpstreamStub.Options()
        options.refuseEveryNthStream = 10
        try await Self.withPeer(options, workers: 1) { stub, pool, collector in
            let handedBack = try await Self.runResubmitting(
                pool, jobs: GRPCTransportTests.jobs(200), collector: collector)

            let final = Self.finalOutcomes(collector)
            #expect(final.count == 200)
            #expect(final.allSatisfy { $0.outcome.resultText != nil })
            #expect(stub.streamsRefused >= 20 && handedBack == stub.streamsRefused)
            #expect(stub.calls == 200 && stub.maxTimesSeen == 1)
            #expect(stub.connectionsAccepted == 1, "REFUSED_STREAM concerns one stream, not the connection")
        }
    }

    @Test func aPingFloodClosesTheConnectionWithEnhanceYourCalm() async throws {
        var options = GRPCUpstreamStub.Options()
        options.floodPingsAfterFirstResponse = 1000
        try await Self.withPeer(options, workers: 1) { stub, pool, collector in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await pool.run() }
                try await pool.submit(GRPCTransportTests.jobs(1)[0])
                try await waitUntil(timeout: .seconds(60)) { stub.goAwaysReceived.contains(.enhanceYourCalm) }
                try await waitUntil(timeout: .seconds(60)) { stub.connectionsAccepted == 2 }
                // The new connection carries calls (the first call may have met the flood).
                try await pool.submit(GRPCTransportTests.jobs(2)[1])
                pool.finish()
                try await group.waitForAll()
            }
            #expect(collector.byID[2]?.outcome.resultText != nil)
            #expect(stub.goAwaysReceived == [.enhanceYourCalm])
            #expect(stub.connectionsAccepted == 2, "the flooded connection was replaced")
        }
    }

    @Test func aResponseLargerThanTheReceiveWindowArrivesWhole() async throws {
        let large = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let stub = GRPCUpstreamStub(methods: [GRPCTransportTests.method]) { _ in .message(large) }
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = try Self.makePool(port: port, workers: 1, collector: collector) {
                $0.maximumResponseBytes = 4 << 20
            }
            try await PoolHarness.run(pool, jobs: GRPCTransportTests.jobs(3))
            #expect(collector.all.count == 3)
            let expected = #"{"@bytes":"\#(Base64.encode(large))"}"#
            #expect(collector.all.allSatisfy { $0.outcome.resultText == expected })
            #expect(stub.connectionsAccepted == 1)
        }
    }

    @Test func aResponseOverTheLimitFailsWithoutCountingForTheBreakerAndTheConnectionStays() async throws {
        let stub = GRPCUpstreamStub(methods: [GRPCTransportTests.method]) { call in
            call.message == Array("job 1".utf8) ? .message([UInt8](repeating: 7, count: 5000)) : .echo
        }
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = try Self.makePool(port: port, workers: 1, collector: collector) {
                $0.maximumResponseBytes = 1000
            }
            try await PoolHarness.run(pool, jobs: GRPCTransportTests.jobs(20))
            let outcomes = collector.byID
            #expect(
                outcomes[1]?.outcome.failure
                    == CallFailure(
                        isRetryable: false, message: "response larger than 1000 bytes", countsForBreaker: false))
            #expect((2...20).allSatisfy { outcomes[Int64($0)]?.outcome.resultText != nil })
            #expect(stub.connectionsAccepted == 1)
        }
    }

    @Test func aCallPastItsDeadlineFailsRetryablyAndTheConnectionCarriesTheNext() async throws {
        let stub = GRPCUpstreamStub(methods: [GRPCTransportTests.method]) { call in
            call.message == Array("job 1".utf8) ? .delayed(.seconds(5), .echo) : .echo
        }
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = try Self.makePool(port: port, workers: 1, collector: collector)
            var jobs = GRPCTransportTests.jobs(5)
            jobs[0].timeout = .milliseconds(200)
            try await PoolHarness.run(pool, jobs: jobs)
            let outcomes = collector.byID
            let failure = try #require(outcomes[1]?.outcome.failure)
            #expect(failure.isRetryable && failure.message.hasPrefix("gRPC DEADLINE_EXCEEDED: no response within"))
            #expect((2...5).allSatisfy { outcomes[Int64($0)]?.outcome.resultText != nil })
            #expect(stub.connectionsAccepted == 1, "the stream was reset; the connection stayed")
        }
    }

    @Test func configuredMetadataIsSentWithEveryCallLowerCased() async throws {
        let stub = GRPCUpstreamStub(methods: [GRPCTransportTests.method])
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = try Self.makePool(port: port, workers: 2, collector: collector) {
                $0.metadata = [
                    UpstreamHeader(name: "Authorization", value: "Bearer s3cret"),
                    UpstreamHeader(name: "X-Tenant", value: "acme"),
                ]
            }
            try await PoolHarness.run(pool, jobs: GRPCTransportTests.jobs(50))
            #expect(collector.all.allSatisfy { $0.outcome.resultText != nil })
            let calls = stub.recentCalls
            #expect(calls.count == 50)
            for call in calls {
                #expect(call.headers.contains { $0.name == "authorization" && $0.value == "Bearer s3cret" })
                #expect(call.headers.contains { $0.name == "x-tenant" && $0.value == "acme" })
                #expect(call.headers.contains { $0.name == "te" && $0.value == "trailers" })
                #expect(call.headers.first { $0.name == ":path" }?.value == "/\(GRPCTransportTests.method)")
            }
        }
    }

    @Test func keepaliveSendsPingsWhileTheConnectionIsIdle() async throws {
        let stub = GRPCUpstreamStub(methods: [GRPCTransportTests.method])
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = try Self.makePool(port: port, workers: 1, collector: collector) {
                $0.keepalive = .milliseconds(20)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await pool.run() }
                try await pool.submit(GRPCTransportTests.jobs(1)[0])
                try await waitUntil(timeout: .seconds(60)) { stub.pingsReceived >= 3 }
                pool.finish()
                try await group.waitForAll()
            }
            #expect(stub.pingsReceived >= 3)
            #expect(stub.connectionsAccepted == 1, "answered pings keep the connection")
            #expect(collector.all.first?.outcome.resultText != nil)
        }
    }

    @Test func withoutKeepaliveTheClientSendsNoPing() async throws {
        let stub = GRPCUpstreamStub(methods: [GRPCTransportTests.method])
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = try Self.makePool(port: port, workers: 1, collector: collector)
            try await PoolHarness.run(pool, jobs: GRPCTransportTests.jobs(20))
            #expect(stub.pingsReceived == 0)
        }
    }
}
