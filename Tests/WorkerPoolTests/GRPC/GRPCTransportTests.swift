import Foundation
import Testing
import UpstreamStub

@testable import WorkerPool

@Suite("GRPCTransport against a loopback gRPC server", .timeLimit(.minutes(3)))
struct GRPCTransportTests {
    static let method = "stub.v1.Stub/Call"

    static func makePool(
        port: Int, workers: Int, collector: OutcomeCollector,
        configure: (inout GRPCTransport.Configuration) -> Void = { _ in }
    ) throws -> WorkerPool<GRPCTransport> {
        var configuration = WorkerPoolConfiguration(workers: workers)
        configuration.reconnectBackoff = .exponentialJitter(
            base: .milliseconds(50), cap: .milliseconds(200), minimum: .milliseconds(20))
        var transport = GRPCTransport.Configuration(url: UpstreamURL(scheme: .grpc, host: "127.0.0.1", port: port))
        configure(&transport)
        return WorkerPool(
            configuration: configuration, transport: try GRPCTransport(configuration: transport),
            logger: PoolHarness.logger, onOutcome: { collector.add($0) })
    }

    static func jobs(_ count: Int) -> [RPCJob] {
        (1...count).map { id in
            let payload = Base64.encode(Array("job \(id)".utf8))
            return RPCJob(
                id: Int64(id), method: method, params: Array(#"{"@bytes":"\#(payload)"}"#.utf8), timeout: .seconds(5))
        }
    }

    @Test func fourWorkersHoldExactlyFourHTTP2Connections() async throws {
        let stub = GRPCUpstreamStub(methods: [Self.method])
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = try Self.makePool(port: port, workers: 4, collector: collector)
            try await PoolHarness.run(pool, jobs: Self.jobs(2000))

            let outcomes = collector.byID
            #expect(outcomes.count == 2000)
            for id in Int64(1)...2000 {
                let payload = Base64.encode(Array("job \(id)".utf8))
                #expect(outcomes[id]?.outcome.resultText == #"{"@bytes":"\#(payload)"}"#)
            }
            #expect(stub.connectionsAccepted == 4)
            #expect(pool.currentStatistics.connectionsOpened == 4)
            #expect(stub.recentCalls.allSatisfy { $0.idempotencyKey != nil && $0.timeout != nil })
        }
    }

    @Test func aWorkerWhoseConnectionClosesOpensAndCountsANewOne() async throws {
        let stub = GRPCUpstreamStub(methods: [Self.method])
        let port = try await stub.start()
        let collector = OutcomeCollector()
        let pool = try Self.makePool(port: port, workers: 2, collector: collector)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pool.run() }
            for job in Self.jobs(50) { try await pool.submit(job) }
            try await waitUntil { collector.all.count == 50 }
            await stub.stop()
            let restarted = GRPCUpstreamStub(methods: [Self.method])
            _ = try await restarted.start(port: port)
            for job in Self.jobs(100).suffix(50) { try await pool.submit(job) }
            pool.finish()
            try await group.waitForAll()
            await restarted.stop()
            // Jobs in flight when the server went away failed (retryable); the rest succeeded
            // over new connections, each counted.
            #expect(restarted.connectionsAccepted >= 1)
            #expect(pool.currentStatistics.connectionsOpened == 2 + restarted.connectionsAccepted)
        }
        #expect(collector.all.count == 100)
    }

    @Test func unreachableUpstreamsFailTheConnectNotTheJob() async throws {
        let collector = OutcomeCollector()
        // Port 1 on loopback: nothing listens there.
        let pool = try Self.makePool(port: 1, workers: 1, collector: collector) {
            $0.connectTimeout = .milliseconds(200)
        }
        try await PoolHarness.run(pool) { pool.currentStatistics.connectFailures >= 2 }
        #expect(pool.currentStatistics.connectionsOpened == 0)
        #expect(pool.currentStatistics.calls == 0)
    }

    @Test(arguments: [
        (GRPCStatusCode.unavailable, true), (.deadlineExceeded, true), (.resourceExhausted, true), (.aborted, true),
        (.internalError, true), (.unknown, true), (.invalidArgument, false), (.notFound, false),
        (.permissionDenied, false), (.unimplemented, false), (.failedPrecondition, false), (.cancelled, false),
    ])
    func classifiesStatuses(_ code: GRPCStatusCode, _ retryable: Bool) {
        let failure = GRPCStatusClassifier.classify(GRPCStatus(code: code, message: "why"))
        #expect(failure.isRetryable == retryable)
        #expect(failure.countsForBreaker == retryable)
        #expect(failure.message == "gRPC \(code.name): why")
    }

    @Test func rawModeTakesBase64AndGivesBase64() throws {
        #expect(
            try GRPCMessageCodec.raw.encodeRequest(method: "a.B/C", params: Array(#"{"@bytes":"AQI="}"#.utf8)).get()
                == [1, 2])
        #expect(try GRPCMessageCodec.raw.encodeRequest(method: "a.B/C", params: nil).get() == [])
        for bad in [#"{"bytes":"AQI="}"#, #"{"@bytes":"AQI=","x":1}"#, #"{"@bytes":"!!"}"#, "[1]"] {
            #expect(throws: CallFailure.self) {
                try GRPCMessageCodec.raw.encodeRequest(method: "a.B/C", params: Array(bad.utf8)).get()
            }
        }
        let result = try GRPCMessageCodec.raw.decodeResponse(method: "a.B/C", message: [0xFF, 0]).get()
        #expect(String(decoding: result, as: UTF8.self) == #"{"@bytes":"/wA="}"#)
    }

    @Test func methodPathsNeedAServiceAndAMethod() {
        #expect(GRPCConnection.method("acc.v1.Echo/Say") == "acc.v1.Echo/Say")
        #expect(GRPCConnection.method("/acc.v1.Echo/Say") == "acc.v1.Echo/Say")
        for bad in ["Say", "/Say", "acc.v1.Echo/", "a/b/c", ""] { #expect(GRPCConnection.method(bad) == nil) }
    }
}

@Suite("GRPCTransport over TLS (grpcs) with the test CA", .timeLimit(.minutes(3)))
struct GRPCTLSTransportTests {
    /// The certificates the TLS tests share (scripts/make-test-certs.sh).
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/TLS/\(name)").path
    }

    static let serverTLS = UpstreamStub.TLS(
        certificateFile: fixture("server.pem"), keyFile: fixture("server-key.pem"))

    static func makePool(
        port: Int, collector: OutcomeCollector, tls: UpstreamTLSConfiguration
    ) throws -> WorkerPool<GRPCTransport> {
        var configuration = WorkerPoolConfiguration(workers: 2)
        configuration.reconnectBackoff = .exponentialJitter(
            base: .milliseconds(50), cap: .milliseconds(200), minimum: .milliseconds(20))
        var transport = GRPCTransport.Configuration(url: UpstreamURL(scheme: .grpcs, host: "127.0.0.1", port: port))
        transport.tls = tls
        return WorkerPool(
            configuration: configuration, transport: try GRPCTransport(configuration: transport),
            logger: PoolHarness.logger, onOutcome: { collector.add($0) })
    }

    @Test func callsSucceedOverTLSTrustingTheTestCA() async throws {
        let stub = GRPCUpstreamStub(methods: [GRPCTransportTests.method], tls: Self.serverTLS)
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = try Self.makePool(
                port: port, collector: collector, tls: UpstreamTLSConfiguration(caFile: Self.fixture("ca.pem")))
            try await PoolHarness.run(pool, jobs: GRPCTransportTests.jobs(200))

            #expect(collector.all.count == 200)
            #expect(collector.all.allSatisfy { $0.outcome.resultText?.hasPrefix(#"{"@bytes":"#) == true })
            #expect(stub.connectionsAccepted == 2)
            #expect(pool.currentStatistics.connectionsOpened == 2)
        }
    }

    @Test func mutualTLSPresentsTheClientCertificate() async throws {
        let serverTLS = UpstreamStub.TLS(
            certificateFile: Self.fixture("server.pem"), keyFile: Self.fixture("server-key.pem"),
            clientCAFile: Self.fixture("ca.pem"))
        let stub = GRPCUpstreamStub(methods: [GRPCTransportTests.method], tls: serverTLS)
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let tls = UpstreamTLSConfiguration(
                caFile: Self.fixture("ca.pem"), clientCertificateFile: Self.fixture("client.pem"),
                clientKeyFile: Self.fixture("client-key.pem"))
            let pool = try Self.makePool(port: port, collector: collector, tls: tls)
            try await PoolHarness.run(pool, jobs: GRPCTransportTests.jobs(50))
            #expect(collector.all.count == 50)
            #expect(collector.all.allSatisfy { $0.outcome.resultText != nil })
        }
    }

    @Test func anUntrustedServerIsAFailedConnectAndNoCallIsMade() async throws {
        let stub = GRPCUpstreamStub(methods: [GRPCTransportTests.method], tls: Self.serverTLS)
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            // No --ca-file: the test CA is not among the system's roots.
            let pool = try Self.makePool(port: port, collector: collector, tls: UpstreamTLSConfiguration())
            try await PoolHarness.run(pool) { pool.currentStatistics.connectFailures >= 2 }
            #expect(pool.currentStatistics.connectionsOpened == 0)
            #expect(stub.calls == 0)
        }
    }
}
