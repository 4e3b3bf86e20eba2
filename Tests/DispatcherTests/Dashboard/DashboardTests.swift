import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

@Suite("the web dashboard on the admin port", .timeLimit(.minutes(3)))
struct DashboardTests {
    @Test func pagesShowWhatStatsShowsAndEscapeWhatJobsCarry() async throws {
        let fixture = try await DashboardFixture.start(good: 20, bad: 3)

        let overview = try fixture.get("/")
        #expect(overview.status == 200)
        #expect(overview.header("content-type") == "text/html; charset=utf-8")
        #expect(overview.header("content-security-policy")?.contains("default-src 'self'") == true)
        // The figures on the page are the ones `stats --json` reports.
        let stats = try await DispatcherProcess.run(["stats", "--json"], in: fixture.directory)
        let counts = try #require(try jsonObject(stats.lines[0])["counts"] as? [String: Int])
        for state in ["pending", "running", "succeeded", "cancelled"] {
            #expect(overview.body.contains("data-count=\"\(state)\">\(counts[state] ?? -1)<"), "\(state)")
        }
        // The failed count links to the queue's failures.
        #expect(
            overview.body.contains(
                "data-count=\"failed\"><a href=\"/failures?queue=default\">\(counts["failed"] ?? -1)</a>"))
        #expect(counts["failed"] == 3 && counts["succeeded"] == 20)
        #expect(overview.body.contains("<svg class=\"chart\""))

        let failures = try fixture.get("/failures")
        #expect(failures.status == 200)
        let ids = try fixture.failedIDs()
        #expect(ids.count == 3)
        for id in ids { #expect(failures.body.contains("href=\"/jobs/\(id)\"")) }
        // Newest first.
        let positions = ids.compactMap { failures.body.range(of: "data-job=\"\($0)\"")?.lowerBound }
        #expect(positions == positions.sorted())
        #expect(failures.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!failures.body.contains(DashboardFixture.hostileMessage))

        let detail = try fixture.get("/jobs/\(ids[0])")
        #expect(detail.status == 200)
        #expect(detail.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!detail.body.contains(DashboardFixture.hostileMessage))
        #expect(detail.body.contains("&lt;b&gt;bold&lt;/b&gt;"), "params are shown escaped")
        #expect(!detail.body.contains("<b>bold</b>"))
        #expect(detail.body.contains("{\n  &quot;n&quot;: "), "params are pretty-printed")

        #expect(try fixture.get("/jobs/999999").status == 404)
        #expect(try fixture.get("/jobs/abc").status == 404)
        #expect(try fixture.get("/partials/overview").body.contains("data-queue=\"default\""))
        let css = try fixture.get("/assets/dashboard.css")
        #expect(css.status == 200 && css.header("content-type") == "text/css; charset=utf-8")
        #expect(try fixture.get("/assets/dashboard.js").header("content-type") == "text/javascript; charset=utf-8")
        #expect(try fixture.get("/metrics").status == 200)
        #expect(try fixture.get("/healthz").status == 200)
        #expect(try fixture.get("/nope").status == 404)
        // DNS rebinding: a page served under another name that points at 127.0.0.1 gets nothing.
        let rebound = try fixture.get("/", headers: [("Host", "attacker.example:\(fixture.admin)")])
        #expect(rebound.status == 421)
        #expect(!rebound.body.contains("data-count"))
        #expect(
            try fixture.post("/queues/default/pause", form: "csrf=x", headers: [("Host", "attacker.example")]).status
                == 421)
        #expect(try fixture.get("/", headers: [("Host", "localhost:\(fixture.admin)")]).status == 200)
        #expect(try fixture.get("/metrics", headers: [("Host", "attacker.example")]).status == 200, "probes stay open")
        try await fixture.stop()
    }

    @Test func actionsNeedTheCSRFTokenAndSayWhatTheyDid() async throws {
        let fixture = try await DashboardFixture.start(good: 5, bad: 3)
        let rows = try Rows(fixture.directory.database)
        let ids = try fixture.failedIDs()

        // No token, a wrong token: 403 and nothing changes.
        #expect(try fixture.post("/jobs/\(ids[0])/retry", form: nil).status == 403)
        #expect(try fixture.post("/jobs/\(ids[0])/retry", form: "csrf=0123abcd").status == 403)
        #expect(try fixture.post("/queues/default/pause", form: "csrf=").status == 403)
        #expect(try rows.count(.failed) == 3)
        #expect(try rows.store.pausedQueues().isEmpty)

        let csrf = try DashboardFixture.csrfToken(in: try fixture.get("/").body)
        // Pause first, so a retried job stays pending for the test to see.
        let paused = try fixture.post("/queues/default/pause", form: "csrf=\(csrf)")
        #expect(paused.status == 303)
        #expect(try rows.store.pausedQueues() == ["default"])
        #expect(try fixture.get(try #require(paused.header("location"))).body.contains("Paused queue default"))

        let retried = try fixture.post("/jobs/\(ids[0])/retry", form: "csrf=\(csrf)")
        #expect(retried.status == 303)
        #expect(retried.header("location") == "/jobs/\(ids[0])?done=retried")
        let job = try #require(try rows.store.job(id: ids[0]))
        #expect(job.state == .pending && job.attempts == 0)
        #expect(try fixture.get("/jobs/\(ids[0])?done=retried").body.contains("Retried: the job is pending again"))

        // Cancel it (pending → cancelled); a second cancel is refused with the reason.
        #expect(try fixture.post("/jobs/\(ids[0])/cancel", form: "csrf=\(csrf)").status == 303)
        #expect(try rows.store.job(id: ids[0])?.state == .cancelled)
        let again = try fixture.post("/jobs/\(ids[0])/cancel", form: "csrf=\(csrf)")
        #expect(again.status == 409)
        #expect(again.body.contains("it is cancelled, not pending"))

        // Retry every failed job of the queue.
        let all = try fixture.post("/queues/default/retry-failed", form: "csrf=\(csrf)")
        #expect(all.status == 303)
        #expect(all.header("location")?.contains("count=2") == true)
        #expect(try rows.count(.failed) == 0)
        #expect(try rows.count(.pending) == 2)

        // Resume: the daemon claims them again (and they fail again, permanently).
        #expect(try fixture.post("/queues/default/resume", form: "csrf=\(csrf)").status == 303)
        try await waitUntil { (try? rows.count(.failed)) == 2 }
        try await fixture.stop()
    }

    @Test func aTokenGuardsEveryPageButTheProbes() async throws {
        let token = "t0ken-for-the-dashboard-tests"
        let fixture = try await DashboardFixture.start(good: 3, bad: 1, extra: ["--admin-token", token])
        for path in ["/", "/failures", "/jobs/1", "/partials/overview"] {
            let response = try fixture.get(path)
            #expect(response.status == 401, "\(path)")
            #expect(!response.body.contains("data-count") && !response.body.contains("boom"), "\(path) leaks data")
        }
        #expect(try fixture.get("/metrics").status == 200)
        #expect(try fixture.get("/healthz").status == 200)

        // The login page's CSRF token alone does not authorize an action.
        let csrf = try DashboardFixture.csrfToken(in: try fixture.get("/login").body)
        #expect(try fixture.post("/queues/default/pause", form: "csrf=\(csrf)").status == 401)
        #expect(try Rows(fixture.directory.database).store.pausedQueues().isEmpty)

        #expect(try fixture.get("/", headers: [("Authorization", "Bearer \(token)")]).status == 200)
        #expect(try fixture.get("/", headers: [("Authorization", "Bearer wrong-\(token)")]).status == 401)

        let wrong = try fixture.post("/login", form: "csrf=\(csrf)&token=nope")
        #expect(wrong.status == 401)
        #expect(wrong.header("set-cookie") == nil)
        let login = try fixture.post("/login", form: "csrf=\(csrf)&token=\(token)")
        #expect(login.status == 303)
        let cookie = try #require(login.header("set-cookie"))
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        let session = try #require(cookie.split(separator: ";").first.map(String.init))
        let page = try fixture.get("/", headers: [("Cookie", session)])
        #expect(page.status == 200)
        #expect(page.body.contains("data-count=\"succeeded\">3<"))
        try await fixture.stop()
    }

    @Test func aPublicAdminAddressNeedsATokenToo() async throws {
        let directory = try TemporaryDirectory()
        let result = try await DispatcherProcess.run(
            ["run", "--upstream", "http://127.0.0.1:9/", "--admin", "0.0.0.0:0", "--admin-public"], in: directory)
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("--admin-token"))
        let short = try await DispatcherProcess.run(
            ["run", "--upstream", "http://127.0.0.1:9/", "--admin", "0", "--admin-token", "short"], in: directory)
        #expect(short.status != 0)
        #expect(short.stderr.contains("at least 16 characters"))
    }

    @Test func pauseAndResumeFromTheCommandLine() async throws {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(50, in: directory)
        let pause = try await DispatcherProcess.run(["pause", "default"], in: directory)
        #expect(pause.status == 0)
        #expect(pause.stdout == "paused queue default\n")
        #expect(try await DispatcherProcess.run(["pause", "default"], in: directory).stdout.contains("already paused"))
        let stats = try await DispatcherProcess.run(["stats", "--json"], in: directory)
        #expect(try jsonObject(stats.lines[0])["paused"] as? Bool == true)
        #expect(try await DispatcherProcess.run(["stats"], in: directory).stdout.contains("paused"))

        let stub = UpstreamStub(behavior: UpstreamStub.echo)
        let port = try await stub.start()
        try await stub.stopping {
            let daemon = try DispatcherProcess.start(
                DaemonTests.runArguments(port: port, extra: ["--exit-when-idle"]), in: directory)
            // A paused queue is not claimed: give the daemon time to (wrongly) start on it.
            try await Task.sleep(for: .milliseconds(1500))
            let rows = try Rows(directory.database)
            #expect(try rows.count(.pending) == 50)
            #expect(try rows.scalar("SELECT sum(attempts) FROM jobs") == 0)
            #expect(stub.requests == 0)
            #expect(daemon.isRunning, "a paused queue with pending jobs is not idle")

            let resume = try await DispatcherProcess.run(["resume", "default"], in: directory)
            #expect(resume.stdout == "resumed queue default\n")
            let result = try await daemon.wait(timeout: .seconds(60))
            #expect(result.status == 0)
            #expect(try rows.count(.succeeded) == 50)
            #expect(
                try await DispatcherProcess.run(["resume", "default"], in: directory).stdout.contains("was not paused"))
        }
    }
}

extension DashboardTests {
    @Test(arguments: StoreKind.available)
    func theDashboardServesEveryStore(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let db = ["--db", database.argument]
        let enqueue = try await DispatcherProcess.run(
            ["enqueue", "--batch", "--quiet"] + db, in: database.directory, stdin: ndjson(25))
        #expect(enqueue.status == 0, "\(enqueue.stderr)")
        let stub = UpstreamStub(behavior: UpstreamStub.echo)
        let port = try await stub.start()
        try await stub.stopping {
            let daemon = try DispatcherProcess.start(
                DaemonTests.runArguments(port: port, extra: db + ["--admin", "127.0.0.1:0", "--log-level", "info"]),
                in: database.directory)
            let admin = try await OperatingTests.adminPort(of: daemon)
            try await waitUntil {
                (try? HTTPClient.request(port: admin, "GET", "/").body.contains("data-count=\"succeeded\">25<")) == true
            }
            let page = try HTTPClient.request(port: admin, "GET", "/")
            let csrf = try DashboardFixture.csrfToken(in: page.body)
            let pause = try HTTPClient.request(
                port: admin, "POST", "/queues/default/pause",
                headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: "csrf=\(csrf)")
            #expect(pause.status == 303)
            let stats = try await DispatcherProcess.run(["stats", "--json"] + db, in: database.directory)
            #expect(try jsonObject(stats.lines[0])["paused"] as? Bool == true)
            daemon.signal(SIGTERM)
            #expect(try await daemon.wait().status == 0)
        }
    }
}
