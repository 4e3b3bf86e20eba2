import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

/// Headers, basic auth and secrets, end to end through the binary: what reaches the upstream on
/// every request, and what never shows anywhere else.
@Suite("upstream headers, basic auth and secrets", .timeLimit(.minutes(3)))
struct UpstreamAuthTests {
    static let password = "pa55-w0rd-never-shown"
    static let token = "tok-3f9a0c6e-never-shown"
    static let fileSecret = "key-from-a-file-never-shown"

    @Test func headersAndBasicAuthArriveOnEveryRequestAndSecretsShowNowhere() async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(200, in: directory)
        try (Self.fileSecret + "\n").write(toFile: directory.path("key"), atomically: true, encoding: .utf8)
        let stub = UpstreamStub(recordsRequests: true)
        let port = try await stub.start()
        try await stub.stopping {
            let daemon = try DispatcherProcess.start(
                [
                    "run", "--upstream", "http://svc%40corp:\(Self.password)@127.0.0.1:\(port)/rpc", "--workers", "4",
                    "--header", "X-Api-Key: ${file:\(directory.path("key"))}",
                    "--header", "X-Partner-Token: Bearer ${env:PARTNER_TOKEN}", "--header", "X-Plain: plain value",
                    "--admin", "127.0.0.1:0", "--log-level", "debug",
                ], in: directory, environment: ["PARTNER_TOKEN": Self.token])
            let admin = try await OperatingTests.adminPort(of: daemon)
            try await waitUntil { (try? Rows(directory.database).count(.succeeded)) == 200 }

            // Every page an operator looks at while the daemon runs.
            var shown = [String]()
            for path in ["/healthz", "/metrics", "/", "/partials/overview", "/jobs/1", "/failures"] {
                shown.append(try HTTPGet.get(port: admin, path: path).body)
            }
            for arguments in [["stats"], ["stats", "--json"], ["top", "--once"], ["show", "1"], ["list", "--json"]] {
                let result = try await DispatcherProcess.run(arguments, in: directory)
                #expect(result.status == 0, "\(arguments): \(result.stderr)")
                shown += [result.stdout, result.stderr]
            }
            daemon.signal(SIGTERM)
            let stopped = try await daemon.wait()
            #expect(stopped.status == 0, "\(stopped.stderr)")
            shown += [stopped.stdout, stopped.stderr]

            let requests = stub.receivedRequests
            #expect(requests.count == 200)
            let basic = "Basic " + Data("svc@corp:\(Self.password)".utf8).base64EncodedString()
            for request in requests {
                let headers = Dictionary(request.headers.map { ($0.name.lowercased(), $0.value) }) { first, _ in first }
                #expect(headers["authorization"] == basic)
                #expect(headers["x-api-key"] == Self.fileSecret)
                #expect(headers["x-partner-token"] == "Bearer \(Self.token)")
                #expect(headers["x-plain"] == "plain value")
            }
            #expect(stopped.stderr.contains("X-Api-Key"), "the startup line names the headers")
            for text in shown {
                for secret in [Self.password, Self.token, Self.fileSecret, basic] {
                    #expect(!text.contains(secret), "a secret was shown: \(text.prefix(300))")
                }
            }
        }
    }

    @Test func configFileHeadersAreSentPerQueue() async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(20, in: directory)
        let stub = UpstreamStub(recordsRequests: true)
        let port = try await stub.start()
        try await stub.stopping {
            let config = """
                {"queues": [{"upstream": "http://127.0.0.1:\(port)/", "workers": 2,
                  "headers": {"Authorization": "Bearer ${env:PARTNER_TOKEN}", "X-Tenant": "acme"}}]}
                """
            try config.write(toFile: directory.path("dispatcher.json"), atomically: true, encoding: .utf8)
            let result = try await DispatcherProcess.run(
                ["run", "--config", "dispatcher.json", "--exit-when-idle", "--log-level", "warning"], in: directory,
                environment: ["PARTNER_TOKEN": Self.token])
            #expect(result.status == 0, "\(result.stderr)")
            let requests = stub.receivedRequests
            #expect(requests.count == 20)
            #expect(
                requests.allSatisfy { request in
                    request.headers.contains { $0.name == "Authorization" && $0.value == "Bearer \(Self.token)" }
                        && request.headers.contains { $0.name == "X-Tenant" && $0.value == "acme" }
                })
        }
    }

    @Test func grpcCallsCarryTheHeadersAsLowerCasedMetadata() async throws {
        let directory = try TemporaryDirectory()
        try await GRPCDaemonTests.enqueue(
            (0..<60).map { #"{"method":"\#(GRPCDaemonTests.echo)","params":{"text":"job \#($0)"}}"# }, in: directory)
        let (stub, port) = try await GRPCDaemonTests.startStub()
        try await stub.stopping {
            let result = try await DispatcherProcess.run(
                [
                    "run", "--upstream", "grpc://svc:\(Self.password)@127.0.0.1:\(port)", "--workers", "2",
                    "--protoset", GRPCDaemonTests.protoset, "--header", "X-Partner-Token: ${env:PARTNER_TOKEN}",
                    "--exit-when-idle", "--log-level", "debug",
                ], in: directory, environment: ["PARTNER_TOKEN": Self.token])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try Rows(directory.database).count(.succeeded) == 60)
            let basic = "Basic " + Data("svc:\(Self.password)".utf8).base64EncodedString()
            let calls = stub.recentCalls
            #expect(calls.count == 60)
            for call in calls {
                #expect(call.headers.contains { $0.name == "authorization" && $0.value == basic })
                #expect(call.headers.contains { $0.name == "x-partner-token" && $0.value == Self.token })
            }
            for secret in [Self.password, Self.token, basic] {
                #expect(!result.stderr.contains(secret) && !result.stdout.contains(secret))
            }
        }
    }
}
