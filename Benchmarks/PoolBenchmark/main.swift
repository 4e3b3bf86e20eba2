
import Logging
import NIOPosix
import Synchronization
import WorkerPool

// Drives a WorkerPool over the HTTP JSON-RPC transport as fast as it goes and prints one line:
// `calls=N seconds=S calls_per_second=R connections_opened=C failures=F`.
// Usage: dispatcher-pool-bench PORT [WORKERS] [CALLS]
let arguments = CommandLine.arguments
guard arguments.count > 1, let port = Int(arguments[1]) else {
    print("usage: dispatcher-pool-bench PORT [WORKERS] [CALLS]")
    exit(2)
}
let workers = arguments.count > 2 ? Int(arguments[2]) ?? 8 : 8
let calls = arguments.count > 3 ? Int(arguments[3]) ?? 200_000 : 200_000

final class Tally: Sendable {
    let failures = Mutex(0)
    let done = Mutex(0)
}
let tally = Tally()
var configuration = WorkerPoolConfiguration(workers: workers, label: "bench")
configuration.channelCapacity = workers * 4
let pool = WorkerPool(
    configuration: configuration,
    // As the daemon does (`--io-threads`, default 1): every connection on one event loop thread.
    transport: try HTTPJSONRPCTransport(
        configuration: .init(url: UpstreamURL(host: "127.0.0.1", port: port)),
        eventLoopGroup: MultiThreadedEventLoopGroup(numberOfThreads: 1)),
    logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }),
    onOutcome: { outcome in
        if case .succeeded = outcome.outcome {} else { tally.failures.withLock { $0 += 1 } }
        tally.done.withLock { $0 += 1 }
    })
let params = Array("[1]".utf8)
let start = ContinuousClock.now
try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await pool.run() }
    // The producer runs in a child task: top-level code is on the main actor, and hopping
    // to and from it on every submit would be measured as pool overhead.
    group.addTask {
        for id in 1...calls {
            try await pool.submit(RPCJob(id: Int64(id), method: "bench", params: params, timeout: .seconds(10)))
        }
        pool.finish()
    }
    try await group.waitForAll()
}
let elapsed = ContinuousClock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print(
    "calls=\(calls) seconds=\(seconds) calls_per_second=\(Int(Double(calls) / seconds)) "
        + "connections_opened=\(pool.currentStatistics.connectionsOpened) failures=\(tally.failures.withLock { $0 })")

#if canImport(Glibc)
    import Glibc
#endif
