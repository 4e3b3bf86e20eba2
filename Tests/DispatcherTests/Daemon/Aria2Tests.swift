import Foundation
import Testing

@testable import Dispatcher

/// Against a real JSON-RPC server of another project, not our stub: aria2's RPC interface
/// (Debian's `aria2`, installed by scripts/ensure-test-peers.sh) with HTTP basic auth. It answers
/// an unknown method with HTTP 400 and a JSON-RPC error object, which must fail the job at once
/// with aria2's own message.
@Suite("a real JSON-RPC server: aria2", .timeLimit(.minutes(2)))
struct Aria2Tests {
    /// aria2c on a free loopback port with basic auth; stopped by its PID when `body` returns.
    static func withAria2<T>(
        user: String, password: String, in directory: TemporaryDirectory, _ body: (Int) async throws -> T
    ) async throws -> T? {
        guard
            let binary = ["/usr/bin/aria2c", "/usr/local/bin/aria2c"].first(where: FileManager.default.isExecutableFile)
        else {
            if StoreKind.isCI {
                Issue.record("aria2c is not installed; CI=true requires it (scripts/ensure-test-peers.sh)")
            }
            return nil
        }
        let port = try WebDriver.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--enable-rpc", "--rpc-listen-port=\(port)", "--rpc-user=\(user)", "--rpc-passwd=\(password)",
            "--dir=\(directory.path("downloads"))", "--quiet=true", "--no-conf", "--disable-ipv6",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            // By its PID, and SIGKILL: aria2 takes its time over SIGTERM, and this throwaway
            // server has nothing to save. Polled, since `waitUntilExit` can wait forever off a
            // run loop.
            kill(process.processIdentifier, SIGKILL)
            let deadline = ContinuousClock.now + .seconds(10)
            while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        }
        try await waitUntil(timeout: .seconds(20)) { Self.accepts(port: port) }
        return try await body(port)
    }

    /// Whether a TCP connect to 127.0.0.1:`port` succeeds (aria2 is listening).
    static func accepts(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    @Test func basicAuthAndErrorsInA400AreReadAsAria2MeansThem() async throws {
        let directory = try TemporaryDirectory()
        let password = "aria-pa55-never-shown"
        let batch =
            String(repeating: "{\"method\":\"aria2.getVersion\",\"params\":[]}\n", count: 40)
            + "{\"method\":\"aria2.noSuchMethod\",\"params\":[]}\n"
        #expect(try await DispatcherProcess.run(["enqueue", "--batch"], in: directory, stdin: batch).status == 0)
        _ = try await Self.withAria2(user: "svc", password: password, in: directory) { port in
            let result = try await DispatcherProcess.run(
                [
                    "run", "--upstream", "http://svc:\(password)@127.0.0.1:\(port)/jsonrpc", "--workers", "4",
                    "--exit-when-idle", "--log-level", "debug",
                ], in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stderr.contains(password) && !result.stdout.contains(password))
            let jobs = try Rows(directory.database).all()
            let versions = jobs.filter { $0.method == "aria2.getVersion" }
            #expect(versions.count == 40)
            #expect(
                versions.allSatisfy {
                    $0.state == .succeeded && $0.attempts == 1 && $0.result?.contains("\"version\"") == true
                })
            let unknown = try #require(jobs.first { $0.method == "aria2.noSuchMethod" })
            #expect(unknown.state == .failed && unknown.attempts == 1)
            #expect(unknown.lastError == "JSON-RPC error 1: No such method: aria2.noSuchMethod")

            // The wrong password: aria2 answers 401, a permanent failure that names the status.
            #expect(
                try await DispatcherProcess.run(
                    ["enqueue", "--method", "aria2.getVersion", "--params", "[]"], in: directory
                )
                .status == 0)
            let refused = try await DispatcherProcess.run(
                [
                    "run", "--upstream", "http://svc:wrong@127.0.0.1:\(port)/jsonrpc", "--workers", "1",
                    "--exit-when-idle", "--log-level", "warning",
                ], in: directory)
            #expect(refused.status == 0, "\(refused.stderr)")
            let last = try #require(try Rows(directory.database).all().last)
            #expect(last.state == .failed && last.attempts == 1)
            #expect(last.lastError?.hasPrefix("HTTP 401") == true, "\(last.lastError ?? "nil")")
        }
    }

    /// The flow-control path against the real server: two daemons sharing two slots, each with
    /// the adaptive limit, run every call once and give their slots back when they exit.
    @Test func twoAdaptiveDaemonsSharingTwoSlotsRunEveryCallOnce() async throws {
        let directory = try TemporaryDirectory()
        let batch = String(repeating: "{\"method\":\"aria2.getVersion\",\"params\":[]}\n", count: 200)
        #expect(try await DispatcherProcess.run(["enqueue", "--batch"], in: directory, stdin: batch).status == 0)
        _ = try await Self.withAria2(user: "svc", password: "flow", in: directory) { port in
            let arguments = [
                "run", "--upstream", "http://svc:flow@127.0.0.1:\(port)/jsonrpc", "--workers", "4", "--adaptive",
                "--max-in-flight", "2", "--exit-when-idle", "--log-level", "warning",
            ]
            async let first = DispatcherProcess.run(arguments, in: directory)
            async let second = DispatcherProcess.run(arguments, in: directory)
            for result in try await [first, second] { #expect(result.status == 0, "\(result.stderr)") }
            let jobs = try Rows(directory.database).all()
            #expect(jobs.count == 200)
            #expect(jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 })
            let top = try await DispatcherProcess.run(["top", "--once"], in: directory)
            #expect(top.stdout.contains("DAEMONS\nnone running"), "\(top.stdout)")
        }
    }
}
