import Logging
import NIOPosix
import Synchronization
import WorkerPool

// Drives a WorkerPool as fast as it goes and prints one line:
// `calls=N seconds=S calls_per_second=R connections_opened=C failures=F`.
//
//     dispatcher-pool-bench PORT [WORKERS] [CALLS]             HTTP JSON-RPC transport
//     dispatcher-pool-bench grpc PORT [WORKERS] [CALLS]        gRPC transport, raw messages
//
// The gRPC mode calls `stub.v1.Stub/Call` on `dispatcher-upstream-stub grpc`.
var arguments = Array(CommandLine.arguments.dropFirst())
let mode = arguments.first.flatMap { $0 == "grpc" ? $0 : nil } ?? "http"
if mode != "http" { arguments.removeFirst() }
guard let port = arguments.first.flatMap({ Int($0) }) else {
    print("usage: dispatcher-pool-bench [grpc] PORT [WORKERS] [CALLS]")
    exit(2)
}
let workers = arguments.count > 1 ? Int(arguments[1]) ?? 8 : 8
let calls = arguments.count > 2 ? Int(arguments[2]) ?? 200_000 : 200_000
// As the daemon does (`--io-threads`, default 1): every connection on one event loop thread.
let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)

final class Tally: Sendable {
    let failures = Mutex(0)
    /// Calls not yet started, for the bare-client mode.
    let remaining = Atomic(calls)
}
let tally = Tally()

func report(seconds: Double, connectionsOpened: Int) {
    print(
        "calls=\(calls) seconds=\(seconds) calls_per_second=\(Int(Double(calls) / seconds)) "
            + "connections_opened=\(connectionsOpened) failures=\(tally.failures.withLock { $0 })")
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// Submits `calls` jobs to a pool over `transport` and reports.
func drive<Transport: UpstreamTransport>(_ transport: Transport, method: String, params: [UInt8]) async throws {
    var configuration = WorkerPoolConfiguration(workers: workers, label: "bench")
    configuration.channelCapacity = workers * 4
    let pool = WorkerPool(
        configuration: configuration, transport: transport,
        logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }),
        onOutcome: { outcome in
            if case .succeeded = outcome.outcome {} else { tally.failures.withLock { $0 += 1 } }
        })
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await pool.run() }
        // The producer runs in a child task: top-level code is on the main actor, and hopping
        // to and from it on every submit would be measured as pool overhead.
        group.addTask {
            for id in 1...calls {
                _ = await pool.submit(contentsOf: [
                    RPCJob(id: Int64(id), method: method, params: params, timeout: .seconds(10))
                ])
            }
            pool.finish()
        }
        try await group.waitForAll()
    }
    report(seconds: seconds(since: start), connectionsOpened: pool.currentStatistics.connectionsOpened)
}

switch mode {
case "grpc":
    try await drive(
        try GRPCTransport(
            configuration: .init(url: UpstreamURL(scheme: .grpc, host: "127.0.0.1", port: port)),
            eventLoopGroup: eventLoops),
        method: "stub.v1.Stub/Call", params: Array(#"{"@bytes":"CAE="}"#.utf8))
default:
    try await drive(
        try HTTPJSONRPCTransport(
            configuration: .init(url: UpstreamURL(host: "127.0.0.1", port: port)), eventLoopGroup: eventLoops),
        method: "bench", params: Array("[1]".utf8))
}
