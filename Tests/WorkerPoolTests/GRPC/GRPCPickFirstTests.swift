import NIOCore
import Testing
import UpstreamStub

@testable import WorkerPool

/// Pick-first over a host's addresses: a refused address is passed over for the next one, and the
/// worker still holds exactly one connection.
@Suite("GRPCTransport tries a host's addresses in order", .timeLimit(.minutes(3)))
struct GRPCPickFirstTests {
    /// Whether `localhost` resolves to both `::1` and `127.0.0.1` on this machine.
    static let localhostHasBothFamilies: Bool = {
        let addresses = (try? GRPCAddressResolver.lookUp(host: "localhost", port: 1))?.map(\.ip) ?? []
        return addresses.contains("::1") && addresses.contains("127.0.0.1")
    }()

    static func makePool(
        host: String, port: Int, collector: OutcomeCollector, resolver: GRPCAddressResolver? = nil
    ) throws -> WorkerPool<GRPCTransport> {
        var configuration = WorkerPoolConfiguration(workers: 2)
        configuration.reconnectBackoff = .exponentialJitter(
            base: .milliseconds(50), cap: .milliseconds(200), minimum: .milliseconds(20))
        var transport = try GRPCTransport(
            configuration: GRPCTransport.Configuration(url: UpstreamURL(scheme: .grpc, host: host, port: port)))
        if let resolver { transport.resolver = resolver }
        return WorkerPool(
            configuration: configuration, transport: transport, logger: PoolHarness.logger,
            onOutcome: { collector.add($0) })
    }

    @Test func aRefusedFirstAddressIsPassedOverForTheNext() async throws {
        let stub = GRPCUpstreamStub(methods: [GRPCTransportTests.method])
        let port = try await stub.start()
        try await stub.stopping {
            // The first address refuses (nothing listens on port 1), the second is the stub.
            let resolver = GRPCAddressResolver { _, _ in
                [
                    try SocketAddress(ipAddress: "127.0.0.1", port: 1),
                    try SocketAddress(ipAddress: "127.0.0.1", port: port),
                ]
            }
            let collector = OutcomeCollector()
            let pool = try Self.makePool(host: "upstream.test", port: port, collector: collector, resolver: resolver)
            try await PoolHarness.run(pool, jobs: GRPCTransportTests.jobs(100))
            #expect(collector.all.count == 100)
            #expect(collector.all.allSatisfy { $0.outcome.resultText?.hasPrefix(#"{"@bytes":"#) == true })
            #expect(stub.connectionsAccepted == 2)
            #expect(pool.currentStatistics.connectionsOpened == 2)
            #expect(pool.currentStatistics.connectFailures == 0)
        }
    }

    @Test func whenEveryAddressRefusesTheConnectFails() async throws {
        let resolver = GRPCAddressResolver { _, _ in
            [try SocketAddress(ipAddress: "127.0.0.1", port: 1), try SocketAddress(ipAddress: "127.0.0.1", port: 1)]
        }
        let collector = OutcomeCollector()
        let pool = try Self.makePool(host: "upstream.test", port: 1, collector: collector, resolver: resolver)
        try await PoolHarness.run(pool) { pool.currentStatistics.connectFailures >= 2 }
        #expect(pool.currentStatistics.connectionsOpened == 0)
        #expect(pool.currentStatistics.calls == 0)
    }

    @Test func theSystemResolverKeepsIPAddressesAndResolvesNames() async throws {
        let literal = try await GRPCAddressResolver.system(host: "127.0.0.1", port: 9)
        #expect(literal.count == 1)
        let names = try GRPCAddressResolver.lookUp(host: "localhost", port: 9).map(\.ip)
        #expect(names.contains("127.0.0.1") || names.contains("::1"))
        #expect(Set(names).count == names.count, "no address twice: \(names)")
    }

    @Test(
        .enabled(
            if: localhostHasBothFamilies,
            "localhost does not resolve to both ::1 and 127.0.0.1 on this machine"))
    func localhostReachesAServerListeningOnIPv4Only() async throws {
        let stub = GRPCUpstreamStub(methods: [GRPCTransportTests.method])
        let port = try await stub.start()
        try await stub.stopping {
            let collector = OutcomeCollector()
            let pool = try Self.makePool(host: "localhost", port: port, collector: collector)
            try await PoolHarness.run(pool, jobs: GRPCTransportTests.jobs(100))
            #expect(collector.all.count == 100)
            #expect(collector.all.allSatisfy { $0.outcome.resultText != nil })
            #expect(stub.connectionsAccepted == 2)
            #expect(pool.currentStatistics.connectionsOpened == 2)
        }
    }
}
