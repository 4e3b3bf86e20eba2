import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

/// The TLS fixtures (scripts/make-test-certs.sh).
enum Fixtures {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/TLS")

    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// The stub serving `name.pem` with `name-key.pem`, optionally requiring a client certificate.
    static func server(_ name: String, requireClientCertificate: Bool = false) -> UpstreamStub.TLS {
        UpstreamStub.TLS(
            certificateFile: path("\(name).pem"), keyFile: path("\(name)-key.pem"),
            clientCAFile: requireClientCertificate ? path("ca.pem") : nil)
    }
}

@Suite("HTTPS and mutual TLS upstreams, end to end", .timeLimit(.minutes(3)))
struct TLSTests {
    static let trustTestCA = ["--ca-file", Fixtures.path("ca.pem")]
    static let clientIdentity = [
        "--client-cert", Fixtures.path("client.pem"), "--client-key", Fixtures.path("client-key.pem"),
    ]

    @Test func twoThousandJobsOverHTTPSUseExactlyFourTLSConnections() async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(2000, in: directory)
        let stub = UpstreamStub()
        let port = try await stub.start(tls: Fixtures.server("server"))
        try await stub.stopping {
            let result = try await DispatcherProcess.run(
                [
                    "run", "--upstream", "https://127.0.0.1:\(port)/rpc", "--workers", "4", "--exit-when-idle",
                    "--log-level", "warning",
                ] + Self.trustTestCA, in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            let jobs = try Rows(directory.database).all()
            #expect(jobs.count == 2000)
            #expect(
                jobs.allSatisfy { $0.state == .succeeded && $0.result == "{\"echo\":\($0.id)}" && $0.attempts == 1 })
            // One handshake per worker, each connection reused for every call.
            #expect(stub.tlsHandshakes == 4)
            #expect(stub.connectionsAccepted == 4)
            #expect(stub.requests == 2000)
        }
    }

    @Test func mutualTLSWithTheClientCertificateFromAConfigFileSucceeds() async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(300, in: directory)
        let stub = UpstreamStub(recordsRequests: true)
        let port = try await stub.start(tls: Fixtures.server("server", requireClientCertificate: true))
        try await stub.stopping {
            // By name this time: SNI "localhost", checked against the certificate's DNS SAN; basic
            // auth and a header ride inside the TLS connection.
            let config = """
                {"queues": [{"upstream": "https://svc:tls-pa55@localhost:\(port)/rpc", "workers": 3,
                  "headers": {"X-Api-Key": "k-over-tls"},
                  "tls": {"ca_file": "\(Fixtures.path("ca.pem"))", "client_cert": "\(Fixtures.path("client.pem"))",
                          "client_key": "\(Fixtures.path("client-key.pem"))"},
                  "rate": "1000/s", "burst": 5}]}
                """
            try config.write(toFile: directory.path("dispatcher.json"), atomically: true, encoding: .utf8)
            let result = try await DispatcherProcess.run(
                ["run", "--config", "dispatcher.json", "--exit-when-idle", "--log-level", "warning"], in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            let jobs = try Rows(directory.database).all()
            #expect(jobs.count == 300 && jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 })
            #expect(stub.tlsHandshakes == 3)
            // The queue's rate from the file applies too: 300 calls at 1000/s, burst 5.
            let arrivals = stub.arrivals
            #expect(arrivals.count == 300)
            #expect(arrivals.last! - arrivals.first! >= .milliseconds(290))
            let basic = "Basic " + Data("svc:tls-pa55".utf8).base64EncodedString()
            #expect(
                stub.receivedRequests.allSatisfy { request in
                    request.headers.contains { $0.name == "Authorization" && $0.value == basic }
                        && request.headers.contains { $0.name == "X-Api-Key" && $0.value == "k-over-tls" }
                })
        }
    }

    /// A TLS failure is a failed connect: no job is called or charged an attempt, the breaker
    /// opens, one warning names the cause, and SIGTERM still exits cleanly.
    @Test(arguments: [
        ("server", false, [String](), "certificate verify failed"),  // our CA is not in the system store
        ("unknown-ca", false, trustTestCA, "certificate verify failed"),  // signed by a CA nobody trusts
        ("wrong-name", false, trustTestCA, "hostname mismatch"),
        ("expired", false, trustTestCA, "certificate verify failed"),
        ("server", true, trustTestCA, "client certificate"),
    ])
    func aTLSFailureAttemptsNoJob(
        _ certificate: String, _ requireClientCertificate: Bool, _ flags: [String], _ cause: String
    ) async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(50, in: directory)
        let stub = UpstreamStub()
        let port = try await stub.start(
            tls: Fixtures.server(certificate, requireClientCertificate: requireClientCertificate))
        try await stub.stopping {
            let running = try DispatcherProcess.start(
                [
                    "run", "--upstream", "https://127.0.0.1:\(port)/rpc", "--workers", "4", "--breaker-cool-down",
                    "500ms",
                    "--log-level", "warning",
                ] + flags, in: directory)
            // Long enough for the breaker to open and a few probes to fail.
            let deadline = ContinuousClock.now + .seconds(30)
            var log = ""
            while ContinuousClock.now < deadline {
                log = (try? String(contentsOf: running.stderrURL, encoding: .utf8)) ?? ""
                if log.contains("circuit breaker opened") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            try await Task.sleep(for: .seconds(1.5))
            running.signal(SIGTERM)
            let result = try await running.wait(timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("circuit breaker opened"), "\(result.stderr)")
            #expect(result.stderr.contains(cause), "the log names the cause '\(cause)': \(result.stderr)")
            let outageWarnings = result.stderr.split(separator: "\n").filter { $0.contains("upstream unreachable") }
            #expect(outageWarnings.count == 1, "one warning per outage: \(result.stderr)")
            let breakerWarnings = result.stderr.split(separator: "\n").filter { $0.contains("circuit breaker opened") }
            #expect(
                breakerWarnings.count == 1, "the breaker opens once; failed probes reopen it quietly: \(result.stderr)")

            #expect(stub.requests == 0)
            let jobs = try Rows(directory.database).all()
            #expect(jobs.count == 50)
            #expect(
                jobs.allSatisfy { $0.state == .pending && $0.attempts == 0 }, "\(jobs.map { ($0.state, $0.attempts) })")
        }
    }

    @Test(arguments: [
        (["--ca-file", Fixtures.path("malformed.pem")], "not a valid PEM certificate"),
        (["--ca-file", Fixtures.path("missing.pem")], "cannot read CA file"),
        (["--client-cert", Fixtures.path("client.pem"), "--client-key", Fixtures.path("malformed.pem")], "client key"),
        (["--client-cert", Fixtures.path("client.pem")], "needs its key"),
    ])
    func unusablePEMFilesAreRefusedAtStart(_ flags: [String], _ message: String) async throws {
        let directory = try await BadInputTests.prepared()
        let before = try BadInputTests.snapshot(directory.database)
        let result = try await DispatcherProcess.run(
            ["run", "--upstream", "https://127.0.0.1:1/", "--exit-when-idle"] + flags, in: directory)
        #expect(result.status == 1)
        BadInputTests.expectOneLineFailure(result, mentioning: message)
        #expect(try BadInputTests.snapshot(directory.database) == before)
    }
}

@Suite("rate limits and the per-upstream breaker, end to end", .timeLimit(.minutes(3)))
struct RateLimitTests {
    @Test func twoHundredPerSecondIsNeverExceededInAnyOneSecondWindow() async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(600, in: directory)
        let stub = UpstreamStub()
        let port = try await stub.start()
        try await stub.stopping {
            let started = ContinuousClock.now
            let result = try await DispatcherProcess.run(
                DaemonTests.runArguments(port: port, workers: 8, extra: ["--rate", "200/s", "--exit-when-idle"]),
                in: directory)
            let wall = ContinuousClock.now - started
            #expect(result.status == 0, "\(result.stderr)")
            let jobs = try Rows(directory.database).all()
            #expect(jobs.count == 600 && jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 })

            // Counted where it matters, at the upstream: every window [t, t + 1 s) starting at an
            // arrival holds at most rate + burst calls.
            let arrivals = stub.arrivals
            #expect(arrivals.count == 600)
            let worst = stub.mostCalls(inAnyWindowOf: .seconds(1))
            #expect(worst <= 201, "most calls in one second: \(worst)")
            #expect(wall >= .seconds(2.5))
            #expect(arrivals.last! - arrivals.first! >= .seconds(2.5))
        }
    }

    /// Jobs waiting for a token keep their leases (the daemon renews them) and are called once.
    @Test func waitingForATokenOutlastsTheLeaseWithoutLosingTheJob() async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(12, in: directory)
        let stub = UpstreamStub()
        let port = try await stub.start()
        try await stub.stopping {
            // Leases of 1 s + 1 s; at 2 calls/s the last of the jobs held by 8 workers waits ~4 s.
            let result = try await DispatcherProcess.run(
                DaemonTests.runArguments(
                    port: port, workers: 8,
                    extra: [
                        "--rate", "2/s", "--timeout", "1s", "--lease-margin", "1s", "--exit-when-idle", "--log-level",
                        "info",
                    ]),
                in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stderr.contains("expired leases"), "\(result.stderr)")
            let jobs = try Rows(directory.database).all()
            #expect(jobs.count == 12 && jobs.allSatisfy { $0.state == .succeeded && $0.attempts == 1 })
            #expect(stub.timesSeen.count == 12 && stub.timesSeen.values.allSatisfy { $0 == 1 })
            let arrivals = stub.arrivals
            #expect(arrivals.last! - arrivals.first! >= .seconds(5))
        }
    }

    /// An upstream that answers every call with 503: once the breaker opens, the feeder stops
    /// claiming, instead of claiming jobs for the workers to bounce and release all cool-down long.
    @Test func anOpenBreakerStopsTheFeederFromClaiming() async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(2000, in: directory)
        let stub = UpstreamStub { _ in .status(503, body: "down") }
        let port = try await stub.start()
        try await stub.stopping {
            let running = try DispatcherProcess.start(
                [
                    "run", "--upstream", "http://127.0.0.1:\(port)/", "--workers", "4", "--breaker-failures", "3",
                    "--breaker-cool-down", "500ms", "--retry-base", "1m", "--log-level", "warning",
                ], in: directory)
            try await Task.sleep(for: .seconds(3))
            running.signal(SIGTERM)
            let result = try await running.wait(timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
            // Claimed at least once: the first batches (a channel's worth buffered and one more held
            // by the feeder) and about one probe per 500 ms. Claiming on while the breaker is open
            // would have cycled through most of the 2,000 jobs in 3 s.
            let channel = 4 * QueueConfiguration.defaultJobsPerWorker
            let claimed = try Rows(directory.database).scalar("SELECT count(*) FROM jobs WHERE started_at IS NOT NULL")
            #expect(claimed <= 2 * channel + 20, "jobs ever claimed: \(claimed)")
            // Only real calls cost attempts: the stub saw every attempt there is.
            let attempts = try Rows(directory.database).scalar("SELECT sum(attempts) FROM jobs")
            #expect(Int(attempts) == stub.requests)
            #expect(stub.requests <= 20, "calls: \(stub.requests)")
        }
    }

    @Test func queuesSharingADeadUpstreamShareOneBreakerAndClaimNothingWhileItIsOpen() async throws {
        let directory = try TemporaryDirectory()
        let batch =
            (0..<400).map { "{\"method\":\"a\",\"queue\":\"a\",\"params\":[\($0)]}\n" }.joined()
            + (0..<400).map { "{\"method\":\"b\",\"queue\":\"b\",\"params\":[\($0)]}\n" }.joined()
        #expect(
            try await DispatcherProcess.run(["enqueue", "--batch", "--quiet"], in: directory, stdin: batch).status == 0)
        // A port nobody listens on (below the ephemeral range, so no self-connect).
        let stub = UpstreamStub()
        let port = try await stub.startBelowEphemeralPorts()
        await stub.stop()
        let config = """
            {"queues": [
              {"name": "a", "upstream": "http://127.0.0.1:\(port)/", "workers": 2, "breaker": {"failures": 3, "cool_down": "400ms"}},
              {"name": "b", "upstream": "http://127.0.0.1:\(port)/", "workers": 2}]}
            """
        try config.write(toFile: directory.path("dispatcher.json"), atomically: true, encoding: .utf8)
        let running = try DispatcherProcess.start(
            ["run", "--config", "dispatcher.json", "--log-level", "warning"], in: directory)
        try await Task.sleep(for: .seconds(3))
        running.signal(SIGTERM)
        let result = try await running.wait(timeout: .seconds(60))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.filter { $0.contains("circuit breaker opened") }.count == 1, "\(result.stderr)")
        #expect(lines.filter { $0.contains("upstream unreachable") }.count == 1, "\(result.stderr)")
        let jobs = try Rows(directory.database).all()
        #expect(jobs.allSatisfy { $0.state == .pending && $0.attempts == 0 })
        // Before the breaker opened each feeder claimed what its channel buffers (2 workers' worth)
        // plus the one batch it may hold beyond that, and nothing after: a claim-and-release per
        // 400 ms cool-down would have touched all 800 jobs.
        let channel = 2 * QueueConfiguration.defaultJobsPerWorker
        let claims = try Rows(directory.database).scalar("SELECT count(*) FROM jobs WHERE started_at IS NOT NULL")
        #expect(claims <= 2 * 2 * channel, "jobs ever claimed: \(claims)")
    }
}
