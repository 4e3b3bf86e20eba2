import Foundation
import Testing

@testable import Dispatcher

/// gRPC C-core's server (PyPI `grpcio`, installed by scripts/test.sh), started by
/// Tests/Fixtures/GRPC/grpcio_echo_server.py: a real third-party peer that sends its own
/// bandwidth-estimation PINGs and, when asked, retires connections with GOAWAY.
final class GRPCIOServer {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/GRPC/grpcio_echo_server.py").path

    /// Whether `python3` can import `grpc` here.
    static let isAvailable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import grpc"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    struct Stats: Decodable {
        var calls: Int
        var maxTimesSeen: Int
        var distinctKeys: Int
        /// Distinct client addresses that made calls: one per TCP connection.
        var peers: Int

        enum CodingKeys: String, CodingKey {
            case calls, peers
            case maxTimesSeen = "max_times_seen"
            case distinctKeys = "distinct_keys"
        }
    }

    let process: Process
    let input: Pipe
    let statsFile: String
    let port: Int

    private init(process: Process, input: Pipe, statsFile: String, port: Int) {
        self.process = process
        self.input = input
        self.statsFile = statsFile
        self.port = port
    }

    /// Starts the server and waits (off the cooperative pool) for the port it prints.
    static func start(in directory: TemporaryDirectory, arguments: [String] = []) async throws -> GRPCIOServer {
        let statsFile = directory.path("grpcio-stats.json")
        let process = Process()
        let input = Pipe()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, statsFile] + arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let line = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var line = Data()
                while let byte = try? output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty,
                    byte != Data("\n".utf8)
                {
                    line += byte
                }
                continuation.resume(returning: String(decoding: line, as: UTF8.self))
            }
        }
        guard let port = Int(line) else {
            process.terminate()
            throw DispatcherTestError("grpcio server did not start (is grpcio installed? scripts/test.sh installs it)")
        }
        return GRPCIOServer(process: process, input: input, statsFile: statsFile, port: port)
    }

    /// Stops the server (closes its stdin) and reads what it counted.
    func stop() async throws -> Stats {
        try input.fileHandleForWriting.close()
        for _ in 0..<600 where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        return try JSONDecoder().decode(Stats.self, from: Data(contentsOf: URL(fileURLWithPath: statsFile)))
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

@Suite(
    "dispatcher run against gRPC C-core's server (PyPI grpcio)", .timeLimit(.minutes(5)),
    .enabled(
        if: GRPCIOServer.isAvailable || StoreKind.isCI,
        "python3 with grpcio is not installed (scripts/test.sh installs it; under CI=true this fails)"))
struct GRPCIOInteropTests {
    static func jobs(_ count: Int) -> [String] {
        (0..<count).map { index in
            let payload = Data("job \(index)".utf8).base64EncodedString()
            return #"{"method":"\#(GRPCDaemonTests.raw)","params":{"@bytes":"\#(payload)"},"key":"k\#(index)"}"#
        }
    }

    static func checkEveryJobSucceededOnce(_ directory: TemporaryDirectory, count: Int) throws {
        let jobs = try Rows(directory.database).all()
        #expect(jobs.count == count)
        #expect(jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 }, "no retry")
        for job in jobs {
            let payload = Data("job \(job.id - 1)".utf8).base64EncodedString()
            #expect(job.result == #"{"@bytes":"\#(payload)"}"#)
        }
    }

    @Test func fourWorkersKeepFourConnectionsAndRunEachCallOnce() async throws {
        let directory = try TemporaryDirectory()
        try await GRPCDaemonTests.enqueue(Self.jobs(2000), in: directory)
        let server = try await GRPCIOServer.start(in: directory)
        let result = try await DispatcherProcess.run(
            GRPCDaemonTests.runArguments(port: server.port, extra: ["--exit-when-idle"]), in: directory)
        let stats = try await server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        try Self.checkEveryJobSucceededOnce(directory, count: 2000)
        #expect(stats.calls == 2000 && stats.distinctKeys == 2000 && stats.maxTimesSeen == 1)
        #expect(stats.peers == 4, "one connection per worker for the whole drain")
    }

    @Test func connectionsRetiredByMaxConnectionAgeCostNoAttempt() async throws {
        let directory = try TemporaryDirectory()
        try await GRPCDaemonTests.enqueue(Self.jobs(3000), in: directory)
        let server = try await GRPCIOServer.start(in: directory, arguments: ["--max-connection-age-ms", "300"])
        let result = try await DispatcherProcess.run(
            GRPCDaemonTests.runArguments(port: server.port, extra: ["--exit-when-idle"]), in: directory)
        let stats = try await server.stop()
        #expect(result.status == 0, "\(result.stderr)")
        try Self.checkEveryJobSucceededOnce(directory, count: 3000)
        #expect(stats.calls == 3000 && stats.maxTimesSeen == 1, "each call executed once")
        #expect(stats.peers > 4, "the server retired connections (GOAWAY) and workers opened new ones")
    }
}
