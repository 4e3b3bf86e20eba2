import Foundation
import Testing

/// Runs the built `dispatcher` binary as a user would, from a temporary folder.
struct DispatcherProcess {
    /// Path of the `dispatcher` executable SwiftPM built beside this test bundle.
    static let binary: String = {
        let testExecutable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: testExecutable).deletingLastPathComponent()
        // The bundle is <build>/debug/dispatcherPackageTests.xctest (a file on Linux).
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("dispatcher").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return "dispatcher"
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    /// Runs `dispatcher ARGS` to completion (at most `timeout`) with optional stdin bytes.
    ///
    /// Waiting suspends rather than blocks: a blocked thread of Swift's small cooperative pool
    /// would stall every other test running in parallel.
    @discardableResult
    static func run(
        _ arguments: [String], in directory: TemporaryDirectory, stdin: String? = nil,
        environment: [String: String] = [:],
        timeout: Duration = .seconds(120)
    ) async throws -> Result {
        let running = try start(arguments, in: directory, stdin: stdin, environment: environment)
        return try await running.wait(timeout: timeout)
    }

    /// `run` for plain threads (not the cooperative pool), blocking until the process exits.
    static func runBlocking(_ arguments: [String], in directory: TemporaryDirectory, timeout: Duration) throws -> Result
    {
        let running = try start(arguments, in: directory)
        let deadline = ContinuousClock.now + timeout
        while running.process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
        return try running.finish(killed: running.process.isRunning)
    }

    /// Starts `dispatcher ARGS` without waiting for it.
    static func start(
        _ arguments: [String], in directory: TemporaryDirectory, stdin: String? = nil,
        environment: [String: String] = [:]
    ) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = directory.url
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DISPATCHER_DB")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        // Files, not pipes: a chatty child can never block on a full pipe.
        let id = UUID().uuidString
        let stdoutURL = directory.url.appendingPathComponent("stdout-\(id)")
        let stderrURL = directory.url.appendingPathComponent("stderr-\(id)")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        if let stdin {
            let stdinURL = directory.url.appendingPathComponent("stdin-\(id)")
            try Data(stdin.utf8).write(to: stdinURL)
            process.standardInput = try FileHandle(forReadingFrom: stdinURL)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        return Running(process: process, stdoutURL: stdoutURL, stderrURL: stderrURL)
    }

    /// A started dispatcher process.
    struct Running {
        let process: Process
        let stdoutURL: URL
        let stderrURL: URL

        var pid: Int32 { process.processIdentifier }

        func signal(_ signal: Int32) {
            kill(process.processIdentifier, signal)
        }

        var isRunning: Bool { process.isRunning }

        /// Waits for exit; kills the process (by its pid) and fails when it takes too long.
        func wait(timeout: Duration = .seconds(120)) async throws -> Result {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            return try finish(killed: process.isRunning)
        }

        fileprivate func finish(killed: Bool) throws -> Result {
            if killed {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("dispatcher did not exit in time")
            }
            process.waitUntilExit()
            return Result(
                status: process.terminationStatus,
                stdout: (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "",
                stderr: (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "")
        }

        /// The stderr written so far.
        var stderrSoFar: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    }
}

/// A temporary folder, removed when the value is released.
final class TemporaryDirectory: @unchecked Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("dispatcher-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        // Files made read-only by a test must be writable again to be removed by everyone.
        _ = try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        try? FileManager.default.removeItem(at: url)
    }

    func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    /// The default database of a command run in this folder.
    var database: String { path("dispatcher.db") }
}
