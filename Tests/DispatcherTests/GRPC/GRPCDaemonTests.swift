import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

@Suite("dispatcher run against a loopback gRPC upstream", .timeLimit(.minutes(3)))
struct GRPCDaemonTests {
    /// The codec fixtures' protoset: `fixtures.v1.KitchenService/Echo` takes and returns a Kitchen.
    static let protoset = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("WorkerPoolTests/Fixtures/ProtoJSON/kitchen.protoset").path
    static let echo = "fixtures.v1.KitchenService/Echo"
    static let raw = "stub.v1.Stub/Call"

    static func runArguments(port: Int, workers: Int = 4, extra: [String] = []) -> [String] {
        [
            "run", "--upstream", "grpc://127.0.0.1:\(port)", "--workers", String(workers), "--retry-base", "20ms",
            "--retry-cap", "100ms", "--log-level", "warning",
        ] + extra
    }

    static func enqueue(_ lines: [String], in directory: TemporaryDirectory) async throws {
        let result = try await DispatcherProcess.run(
            ["enqueue", "--batch", "--quiet"], in: directory, stdin: lines.joined(separator: "\n") + "\n")
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// Starts the echoing stub, runs one daemon with the fixtures' protoset until the queue is
    /// idle (it must exit 0), stops the stub and returns it with every job's row.
    static func drainWithProtoset(_ directory: TemporaryDirectory) async throws -> (GRPCUpstreamStub, [Job]) {
        let (stub, port) = try await startStub()
        return try await stub.stopping {
            let result = try await DispatcherProcess.run(
                runArguments(port: port, extra: ["--protoset", protoset, "--exit-when-idle"]), in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            return (stub, try Rows(directory.database).all())
        }
    }

    static func startStub(
        _ behavior: @escaping GRPCUpstreamStub.Behavior = { _ in .echo }
    ) async throws -> (
        GRPCUpstreamStub, Int
    ) {
        let stub = GRPCUpstreamStub(methods: [echo, raw], behavior: behavior)
        return (stub, try await stub.start())
    }

    @Test func twoThousandJobsSucceedOverExactlyFourConnections() async throws {
        let directory = try TemporaryDirectory()
        try await Self.enqueue(
            (0..<2000).map { #"{"method":"\#(Self.echo)","params":{"text":"job \#($0)","numbers":[\#($0)]}}"# },
            in: directory)
        let (stub, jobs) = try await Self.drainWithProtoset(directory)
        #expect(jobs.count == 2000)
        #expect(jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 })
        // The echoed Kitchen comes back in the proto3 JSON mapping: fields in number order.
        #expect(jobs.allSatisfy { $0.result == #"{"numbers":[\#($0.id - 1)],"text":"job \#($0.id - 1)"}"# })
        #expect(stub.connectionsAccepted == 4)
        #expect(stub.calls == 2000)
        #expect(stub.distinctKeys == 2000 && stub.maxTimesSeen == 1)
    }

    @Test func aServerRetiringConnectionsWithGoAwayCostsNoAttempt() async throws {
        let directory = try TemporaryDirectory()
        try await Self.enqueue(
            (0..<5000).map { #"{"method":"\#(Self.raw)","params":{"@bytes":"AA=="},"key":"k\#($0)"}"# }, in: directory)
        var options = GRPCUpstreamStub.Options()
        options.goAwayEvery = 1000
        options.pingAfterEveryResponse = true
        let stub = GRPCUpstreamStub(methods: [Self.raw], options: options)
        let port = try await stub.start()
        try await stub.stopping {
            let result = try await DispatcherProcess.run(
                Self.runArguments(port: port, extra: ["--exit-when-idle"]), in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            let jobs = try Rows(directory.database).all()
            #expect(jobs.count == 5000)
            #expect(jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 }, "no attempt counted for a GOAWAY")
            #expect(stub.calls == 5000 && stub.maxTimesSeen == 1, "each call executed once")
            #expect(stub.goAwaysSent >= 4)
            // Each GOAWAY retires one connection; its worker opens the next one unless the drain is over.
            #expect(stub.connectionsAccepted <= 4 + stub.goAwaysSent)
            #expect(stub.connectionsAccepted >= stub.goAwaysSent)
        }
    }

    @Test func statusesAreRetriedOrFailedByTheMapping() async throws {
        let directory = try TemporaryDirectory()
        try await Self.enqueue(
            [
                #"{"method":"\#(Self.raw)","params":{"@bytes":"AQID"},"key":"flaky"}"#,
                #"{"method":"/\#(Self.raw)","params":{"@bytes":"AAA="},"key":"invalid"}"#,
            ], in: directory)
        let (stub, port) = try await Self.startStub { call in
            if call.idempotencyKey == "invalid" { return .status(.invalidArgument, "no such thing") }
            return call.timesSeen <= 2 ? .status(.unavailable, "warming up") : .message([9, 9])
        }
        try await stub.stopping {
            let result = try await DispatcherProcess.run(
                Self.runArguments(port: port, extra: ["--exit-when-idle"]), in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            let jobs = try Rows(directory.database).all()
            #expect(jobs[0].state == .succeeded && jobs[0].attempts == 3)
            #expect(jobs[0].result == #"{"@bytes":"CQk="}"#)
            #expect(jobs[1].state == .failed && jobs[1].attempts == 1)
            #expect(jobs[1].lastError == "gRPC INVALID_ARGUMENT: no such thing")
            #expect(stub.recentCalls.first { $0.idempotencyKey == "flaky" }?.message == [1, 2, 3])
        }
    }

    @Test func aSlowHandlerIsCutOffByTheDeadlineAndRetried() async throws {
        let directory = try TemporaryDirectory()
        try await Self.enqueue(
            [#"{"method":"\#(Self.raw)","params":{"@bytes":"AQ=="},"timeout_ms":1000}"#], in: directory)
        let (stub, port) = try await Self.startStub { call in
            call.timesSeen == 1 ? .delayed(.seconds(10), .echo) : .echo
        }
        try await stub.stopping {
            let result = try await DispatcherProcess.run(
                Self.runArguments(port: port, extra: ["--exit-when-idle"]), in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            let job = try #require(try Rows(directory.database).all().first)
            // Retried after the deadline (a loaded machine may need a third attempt).
            #expect(job.state == .succeeded && job.attempts >= 2)
            // The server saw the job's timeout as the call's deadline (grpc-timeout, at most 1 s).
            let timeout = try #require(stub.recentCalls.first?.timeout)
            let milliseconds = try #require(Self.milliseconds(grpcTimeout: timeout))
            #expect(milliseconds > 0 && milliseconds <= 1000, "grpc-timeout \(timeout)")
        }
    }

    @Test func paramsThatDoNotFitTheMessageFailWithoutACall() async throws {
        let directory = try TemporaryDirectory()
        try await Self.enqueue(
            [
                #"{"method":"\#(Self.echo)","params":{"items":[{},{},{"count":2147483648}]}}"#,
                #"{"method":"\#(Self.echo)","params":{"nope":1}}"#,
                #"{"method":"\#(Self.echo)","params":{"scalars":{"fBool":"yes"}}}"#,
                #"{"method":"fixtures.v1.KitchenService/Missing","params":{}}"#,
            ], in: directory)
        let (stub, jobs) = try await Self.drainWithProtoset(directory)
        #expect(jobs.allSatisfy { $0.state == .failed && $0.attempts == 1 })
        #expect(jobs[0].lastError == "params.items[2].count: value out of range for int32")
        #expect(jobs[1].lastError?.hasPrefix("params.nope: unknown field") == true)
        #expect(jobs[2].lastError?.hasPrefix("params.scalars.fBool: expected a boolean") == true)
        #expect(jobs[3].lastError == "method fixtures.v1.KitchenService/Missing is not in the protoset")
        #expect(stub.calls == 0, "the upstream was never called")
    }

    @Test func everyJobSucceedsWhenTheServerRestartsMidRun() async throws {
        let directory = try TemporaryDirectory()
        try await Self.enqueue(
            (0..<2000).map { #"{"method":"\#(Self.raw)","params":{"@bytes":"AA=="},"key":"k\#($0)"}"# }, in: directory)
        let (stub, port) = try await Self.startStub { _ in .delayed(.milliseconds(2), .echo) }
        let daemon = try DispatcherProcess.start(
            Self.runArguments(port: port, extra: ["--breaker-cool-down", "100ms", "--exit-when-idle"]), in: directory)
        try await waitUntil { stub.calls >= 300 }
        await stub.stop()
        let callsBeforeRestart = stub.calls
        try await Task.sleep(for: .milliseconds(500))
        let restarted = GRPCUpstreamStub(methods: [Self.echo, Self.raw]) { _ in .echo }
        #expect(try await restarted.start(port: port) == port)
        try await restarted.stopping {
            let result = try await daemon.wait(timeout: .seconds(120))
            #expect(result.status == 0, "\(result.stderr)")
            let jobs = try Rows(directory.database).all()
            #expect(jobs.count == 2000)
            #expect(jobs.allSatisfy { $0.state == .succeeded })
            #expect(callsBeforeRestart < 2000, "the server went away mid-run")
            #expect(restarted.calls > 0 && restarted.connectionsAccepted >= 1)
        }
    }

    @Test func grpcsWithTheTestCADeliversEveryJob() async throws {
        let tlsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/TLS")
        let directory = try TemporaryDirectory()
        try await Self.enqueue(
            (0..<200).map { #"{"method":"\#(Self.echo)","params":{"text":"secret \#($0)"}}"# }, in: directory)
        let stub = GRPCUpstreamStub(
            methods: [Self.echo],
            tls: UpstreamStub.TLS(
                certificateFile: tlsFolder.appendingPathComponent("server.pem").path,
                keyFile: tlsFolder.appendingPathComponent("server-key.pem").path))
        let port = try await stub.start()
        try await stub.stopping {
            var arguments = Self.runArguments(
                port: port,
                extra: ["--protoset", Self.protoset, "--exit-when-idle", "--ca-file", tlsFolder.path + "/ca.pem"])
            arguments[2] = "grpcs://127.0.0.1:\(port)"
            let result = try await DispatcherProcess.run(arguments, in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            let jobs = try Rows(directory.database).all()
            #expect(jobs.count == 200)
            #expect(jobs.allSatisfy { $0.state == .succeeded && $0.result == #"{"text":"secret \#($0.id - 1)"}"# })
            #expect(stub.connectionsAccepted == 4)
        }
    }

    /// The value of a `grpc-timeout` header (digits and a unit) in milliseconds.
    static func milliseconds(grpcTimeout text: String) -> Double? {
        guard let unit = text.last, let value = Double(text.dropLast()) else { return nil }
        switch unit {
        case "H": return value * 3_600_000
        case "M": return value * 60_000
        case "S": return value * 1000
        case "m": return value
        case "u": return value / 1000
        case "n": return value / 1_000_000
        default: return nil
        }
    }
}
