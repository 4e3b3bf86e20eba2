import Logging
import NIOPosix
import Synchronization
import UpstreamStub

@testable import WorkerPool

/// Collects the outcomes a pool reports.
final class OutcomeCollector: Sendable {
    let outcomes = Mutex<[JobOutcome]>([])

    func add(_ outcome: JobOutcome) {
        outcomes.withLock { $0.append(outcome) }
    }

    var all: [JobOutcome] { outcomes.withLock { $0 } }

    var byID: [Int64: JobOutcome] {
        Dictionary(all.map { ($0.job.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

enum PoolHarness {
    static let logger = Logger(label: "worker-pool-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    static func makePool(
        port: Int, workers: Int, collector: OutcomeCollector,
        configure: (inout WorkerPoolConfiguration, inout HTTPJSONRPCTransport.Configuration) -> Void = { _, _ in }
    ) -> WorkerPool<HTTPJSONRPCTransport> {
        var configuration = WorkerPoolConfiguration(workers: workers)
        configuration.reconnectBackoff = .exponentialJitter(
            base: .milliseconds(50), cap: .milliseconds(200), minimum: .milliseconds(20))
        var transport = HTTPJSONRPCTransport.Configuration(url: UpstreamURL(host: "127.0.0.1", port: port))
        configure(&configuration, &transport)
        return WorkerPool(
            configuration: configuration, transport: try! HTTPJSONRPCTransport(configuration: transport),
            logger: logger,
            onOutcome: { collector.add($0) })
    }

    static func jobs(_ count: Int, timeout: Duration = .seconds(5)) -> [RPCJob] {
        (1...count).map { RPCJob(id: Int64($0), method: "test_call", params: Array("[\($0)]".utf8), timeout: timeout) }
    }

    /// Runs the pool until `condition` holds, then finishes it and waits for `run()` to return.
    /// Waits 60 s at most: under a full parallel run the cooperative pool can be busy for seconds.
    static func run<Transport: UpstreamTransport>(
        _ pool: WorkerPool<Transport>, until condition: () -> Bool
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pool.run() }
            try await waitUntil(timeout: .seconds(60), condition)
            pool.finish()
            try await group.waitForAll()
        }
    }

    /// Runs the pool, submits `jobs`, finishes it and waits for `run()` to return.
    static func run<Transport: UpstreamTransport>(_ pool: WorkerPool<Transport>, jobs: [RPCJob]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await pool.run() }
            for job in jobs { try await pool.submit(job) }
            pool.finish()
            try await group.waitForAll()
        }
    }
}

extension CallOutcome {
    var resultText: String? {
        if case .succeeded(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    var failure: CallFailure? {
        if case .failed(let failure) = self { return failure }
        return nil
    }

    var isNotAttempted: Bool {
        if case .notAttempted = self { return true }
        return false
    }
}
