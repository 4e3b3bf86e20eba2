import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

@Suite("operating the daemon: metrics, health, logs, top", .timeLimit(.minutes(3)))
struct OperatingTests {
    /// The admin port the daemon logged (it binds port 0 in tests).
    static func adminPort(of daemon: DispatcherProcess.Running) async throws -> Int {
        try await listeningPort(of: daemon, "admin endpoint")
    }

    /// The loopback port a daemon's listener (`admin endpoint`, `enqueue API`) logged it bound.
    static func listeningPort(of daemon: DispatcherProcess.Running, _ listener: String) async throws -> Int {
        var port: Int?
        try await waitUntil(timeout: .seconds(30)) {
            let log = daemon.stderrSoFar
            guard let line = log.split(separator: "\n").first(where: { $0.contains("\(listener) listening") }),
                let range = line.range(of: #"address=127\.0\.0\.1:(\d+)"#, options: .regularExpression)
            else { return false }
            port = Int(line[range].split(separator: ":").last ?? "")
            return port != nil
        }
        return try #require(port)
    }

    @Test func scrapedCountersEqualTheRowsInTheDatabase() async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(2000, in: directory)
        // Every 10th job fails once, so retried counters move too.
        let stub = UpstreamStub { request in
            if request.sequence < 50 { return .delayed(20, .result("1")) }
            return (request.id ?? 0) % 10 == 0 && request.timesSeen == 1 ? .status(503) : .result("1")
        }
        let port = try await stub.start()
        try await stub.stopping {
            let daemon = try DispatcherProcess.start(
                DaemonTests.runArguments(port: port, extra: ["--admin", "127.0.0.1:0", "--log-level", "info"]),
                in: directory)
            let admin = try await Self.adminPort(of: daemon)

            // During the run: a valid exposition.
            let during = try PrometheusText.parse(try HTTPGet.get(port: admin, path: "/metrics").body)
            #expect(!during.isEmpty)

            let rows = try Rows(directory.database)
            try await waitUntil { (try? rows.count(.succeeded)) == 2000 }
            try await Task.sleep(for: .milliseconds(1500))  // a gauge sampling round
            let response = try HTTPGet.get(port: admin, path: "/metrics")
            #expect(response.status == 200)
            let after = try PrometheusText.parse(response.body)
            let queue = ["queue": "default"]
            #expect(PrometheusText.value(after, "dispatcher_jobs_succeeded_total", queue) == 2000)
            #expect(
                PrometheusText.value(after, "dispatcher_jobs_failed_total", queue) ?? 0
                    == Double(try rows.count(.failed)))
            let retried = try rows.scalar("SELECT count(*) FROM jobs WHERE attempts > 1")
            #expect(PrometheusText.value(after, "dispatcher_jobs_retried_total", queue) == Double(retried))
            #expect(retried > 150, "every 10th job failed once (those among the first 50 calls did not)")
            let attempts = try rows.scalar("SELECT sum(attempts) FROM jobs")
            #expect(PrometheusText.value(after, "dispatcher_jobs_claimed_total", queue) == Double(attempts))
            #expect(
                PrometheusText.value(after, "dispatcher_calls_total", ["queue": "default", "outcome": "succeeded"])
                    == 2000)
            #expect(PrometheusText.value(after, "dispatcher_call_duration_seconds_count", queue) == Double(attempts))
            #expect(PrometheusText.value(after, "dispatcher_upstream_connections_opened_total", queue) == 8)
            #expect(PrometheusText.value(after, "dispatcher_upstream_connections_open", queue) == 8)
            #expect(PrometheusText.value(after, "dispatcher_jobs_pending", queue) == 0)
            #expect(PrometheusText.value(after, "dispatcher_breaker_state", queue) ?? 0 == 0)

            #expect(try HTTPGet.get(port: admin, path: "/nope").status == 404)
            #expect(try HTTPGet.get(port: admin, path: "/metrics", method: "POST").status == 405)
            daemon.signal(SIGTERM)
            #expect(try await daemon.wait().status == 0)
        }
    }

    @Test func healthIsOkWhileRunningAndUnavailableWhileDraining() async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(50, in: directory)
        // Calls long enough that the drain window (when /healthz says 503) is seconds wide even
        // when a loaded, fully parallel test run leaves this test's polls few and far between.
        let stub = UpstreamStub { _ in .delayed(6000, .result("1")) }
        let port = try await stub.start()
        try await stub.stopping {
            let daemon = try DispatcherProcess.start(
                DaemonTests.runArguments(
                    port: port, extra: ["--admin", "0", "--drain-timeout", "20s", "--log-level", "info"]),
                in: directory)
            let admin = try await Self.adminPort(of: daemon)
            try await waitUntil { stub.requests >= 8 }
            let running = try HTTPGet.get(port: admin, path: "/healthz")
            #expect(running.status == 200)
            #expect(running.body.contains("\"status\":\"ok\""))

            daemon.signal(SIGTERM)
            // The in-flight calls take ~6 s to finish; meanwhile the endpoint says so.
            var draining: HTTPGet.Response?
            try await waitUntil {
                draining = try? HTTPGet.get(port: admin, path: "/healthz")
                return draining?.status == 503
            }
            #expect(draining?.body.contains("draining") == true)
            #expect(try await daemon.wait().status == 0)
        }
    }

    @Test func theAdminEndpointStaysOnLoopbackUnlessTold() async throws {
        let directory = try TemporaryDirectory()
        for address in ["0.0.0.0:0", "[::]:0", "10.1.2.3:9464"] {
            let result = try await DispatcherProcess.run(
                ["run", "--upstream", "http://127.0.0.1:1/", "--admin", address], in: directory, timeout: .seconds(30))
            #expect(result.status != 0)
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stderr.contains("refusing"))
        }
        let plain = try AdminAddress(parsing: "9464", allowPublic: false)
        #expect(plain.host == "127.0.0.1" && plain.port == 9464)
        #expect(try AdminAddress(parsing: ":9464", allowPublic: false).host == "127.0.0.1")
        #expect(try AdminAddress(parsing: "0.0.0.0:9464", allowPublic: true, hasToken: true).host == "0.0.0.0")
        #expect(throws: DispatcherError.self) { try AdminAddress(parsing: "0.0.0.0:9464", allowPublic: true) }
    }

    @Test func jsonLogsAreOneObjectPerLineWithJobIDsOnJobLines() async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(20, in: directory)
        let stub = UpstreamStub { request in
            request.timesSeen == 1 && (request.id ?? 0) % 2 == 0 ? .status(503) : .result("1")
        }
        let port = try await stub.start()
        try await stub.stopping {
            let result = try await DispatcherProcess.run(
                DaemonTests.runArguments(
                    port: port, extra: ["--exit-when-idle", "--log-format", "json", "--log-level", "debug"]),
                in: directory)
            #expect(result.status == 0)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count > 20)
            var jobLines = 0
            for line in lines {
                let object = try jsonObject(String(line))
                #expect(object["message"] is String && object["level"] is String && object["ts"] is String)
                if let message = object["message"] as? String, message == "job succeeded" || message == "call failed" {
                    jobLines += 1
                    #expect(object["job.id"] is String, "per-job line without job.id: \(line)")
                    #expect(object["queue"] as? String == "default")
                    #expect(object["attempt"] is String)
                }
            }
            #expect(jobLines >= 30, "20 successes and 10 failed first attempts")
        }
    }

    @Test func topOncePrintsTheCountsOfAKnownDatabase() async throws {
        let directory = try TemporaryDirectory()
        let batch =
            (0..<7).map { "{\"method\":\"a\",\"queue\":\"alpha\",\"params\":[\($0)]}\n" }.joined()
            + (0..<3).map { "{\"method\":\"b\",\"queue\":\"beta\",\"params\":[\($0)]}\n" }.joined()
        let ids = try await DispatcherProcess.run(["enqueue", "--batch"], in: directory, stdin: batch).lines
        #expect(try await DispatcherProcess.run(["cancel", ids[0], ids[1]], in: directory).status == 0)
        let store = try Rows(directory.database).store
        try store.connection.execute(
            "UPDATE jobs SET state = 'failed', attempts = 3, last_error = 'HTTP 400', finished_at = run_at WHERE id = \(ids[9])"
        )

        let result = try await DispatcherProcess.run(["top", "--once"], in: directory)
        #expect(result.status == 0)
        func row(_ queue: String) -> [String] {
            result.lines.first { $0.hasPrefix(queue + " ") }?.split(separator: " ").map(String.init) ?? []
        }
        // QUEUE STATUS PENDING RETRYING RUNNING SUCCEEDED FAILED CANCELLED ...
        #expect(Array(row("alpha").prefix(8)) == ["alpha", "active", "5", "0", "0", "0", "0", "2"])
        #expect(Array(row("beta").prefix(8)) == ["beta", "active", "2", "0", "0", "0", "1", "0"])
        #expect(result.stdout.contains("RECENT FAILURES"))
        #expect(result.lines.contains { $0.hasPrefix(ids[9] + " ") && $0.contains("HTTP 400") })
    }

    @Test func interactiveTopQuitsOnQAndRestoresTheTerminal() async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(3, in: directory)
        var master: Int32 = 0
        var slave: Int32 = 0
        guard openpty(&master, &slave, nil, nil, nil) == 0 else { throw DispatcherTestError("openpty failed") }
        defer { close(master) }
        var before = termios()
        tcgetattr(slave, &before)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: DispatcherProcess.binary)
        process.arguments = ["top", "--db", directory.database]
        let terminal = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        process.standardInput = terminal
        process.standardOutput = terminal
        process.standardError = terminal
        try process.run()

        var screen = [UInt8]()
        // Polls without blocking and sleeps between polls, keeping the cooperative pool free.
        func readAvailable(for duration: Duration) async throws {
            let deadline = ContinuousClock.now + duration
            var chunk = [UInt8](repeating: 0, count: 4096)
            while ContinuousClock.now < deadline {
                var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptor, 1, 0) > 0 else {
                    try await Task.sleep(for: .milliseconds(20))
                    continue
                }
                let count = chunk.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if count > 0 { screen += chunk[0..<count] }
            }
        }
        // The first frame, within 10 s (a loaded CI machine can be slow to start a process).
        for _ in 0..<100 where !String(decoding: screen, as: UTF8.self).contains("dispatcher top") {
            try await readAvailable(for: .milliseconds(100))
        }
        #expect(String(decoding: screen, as: UTF8.self).contains("dispatcher top"))
        _ = [UInt8(ascii: "q")].withUnsafeBytes { write(master, $0.baseAddress, 1) }
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning && ContinuousClock.now < deadline { try await readAvailable(for: .milliseconds(50)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            Issue.record("top did not exit on q")
        }
        process.waitUntilExit()
        try await readAvailable(for: .milliseconds(100))
        #expect(process.terminationStatus == 0)

        let output = String(decoding: screen, as: UTF8.self)
        #expect(output.contains("\u{1B}[?1049h"), "entered the alternate screen")
        #expect(output.hasSuffix("\u{1B}[?25h\u{1B}[?1049l"), "showed the cursor and left the alternate screen last")
        var after = termios()
        tcgetattr(slave, &after)
        close(slave)
        #expect(after.c_lflag == before.c_lflag, "echo, canonical mode and signals restored")
    }
}
