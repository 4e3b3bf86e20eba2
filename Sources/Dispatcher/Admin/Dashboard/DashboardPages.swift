/// The dashboard's pages as HTML text. Pure functions of their inputs: the routes read the
/// store and the live board, these only render (and escape everything they did not write).
struct DashboardPages {
    /// The CSRF token every form carries.
    var csrfToken: String
    /// Shown in the header: the database the daemon serves.
    var storeName: String
    /// Whether a token protects the dashboard (then a "log out" button is shown).
    var loginEnabled: Bool

    // MARK: Layout

    func page(title: String, notice: Notice?, _ body: String) -> String {
        var html = HTML()
        html.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        html.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        html.element("title", [], "\(title) · dispatcher")
        html.raw("<link rel=\"stylesheet\" href=\"/assets/dashboard.css\"></head><body><header>")
        html.raw("<span class=\"brand\">dispatcher</span><nav>")
        html.raw(
            "<a href=\"/\">Overview</a><a href=\"/failures\">Failures</a><a href=\"/schedules\">Schedules</a></nav>")
        html.open("span", [("class", "meta")])
        html.text(storeName)
        html.raw("</span>")
        if loginEnabled {
            html.raw(form(action: "/logout", button: "Log out", style: nil))
        }
        html.raw("</header><main>")
        if let notice {
            html.element(
                "div", [("class", notice.isError ? "notice error" : "notice"), ("role", "status")], notice.text)
        }
        html.raw(body)
        html.raw("</main><script src=\"/assets/dashboard.js\"></script></body></html>")
        return html.text
    }

    /// A one-button POST form carrying the CSRF token.
    func form(action: String, button: String, style: String?) -> String {
        var html = HTML()
        html.open("form", [("class", "inline"), ("method", "post"), ("action", action)])
        html.open("input", [("type", "hidden"), ("name", "csrf"), ("value", csrfToken)])
        html.open("button", [("type", "submit"), ("class", style ?? "")])
        html.text(button)
        html.raw("</button></form>")
        return html.text
    }

    // MARK: Overview

    func overview(_ overview: DashboardOverview, live: [String: LiveQueueBoard.Status], notice: Notice?) -> String {
        var html = HTML()
        html.raw("<h1>Queues <small class=\"muted\" id=\"refreshed\"></small></h1>")
        html.raw("<div id=\"live\" data-refresh-ms=\"3000\">")
        html.raw(overviewTable(overview, live: live))
        html.raw("</div>")
        return page(title: "Overview", notice: notice, html.text)
    }

    /// The part of the overview the page's script refreshes in place.
    func overviewTable(_ overview: DashboardOverview, live: [String: LiveQueueBoard.Status]) -> String {
        let report = overview.report
        var queues = report.queues.map(\.queue)
        for queue in live.keys.sorted() where !queues.contains(queue) { queues.append(queue) }
        guard !queues.isEmpty else {
            return "<p class=\"muted\">No jobs yet. Enqueue some with <code>dispatcher enqueue</code>.</p>"
        }
        var html = HTML()
        html.raw("<table class=\"queues\"><thead><tr>")
        for (header, numeric) in [
            ("Queue", false), ("Status", false), ("Pending", true), ("Retrying", true), ("Running", true),
            ("Succeeded", true), ("Failed", true), ("Cancelled", true), ("Oldest pending", true),
            ("Done / failed, 1 min", true), ("Last hour", false), ("Wait p50 / p99", true), ("Run p50 / p99", true),
            ("Breaker", false), ("Connections", true), ("Concurrency", true), ("Actions", false),
        ] {
            html.element("th", numeric ? [("class", "num")] : [], header)
        }
        html.raw("</tr></thead><tbody>")
        for name in queues {
            let stats = report.queues.first { $0.queue == name } ?? QueueStats(queue: name)
            let recent = report.activity(of: name)
            let paused = report.paused.contains(name)
            let status = live[name]
            html.open("tr", [("data-queue", name)])
            html.element("td", [("class", "queue-name")], name)
            html.raw("<td>")
            html.element("span", [("class", paused ? "badge warn" : "badge ok")], paused ? "paused" : "active")
            html.raw("</td>")
            numberCell(&html, stats.count(.pending), "pending")
            numberCell(&html, stats.retrying, "retrying")
            numberCell(&html, stats.count(.running), "running")
            numberCell(&html, stats.count(.succeeded), "succeeded")
            html.open("td", [("class", "num"), ("data-count", "failed")])
            let failed = stats.count(.failed)
            if failed > 0 {
                html.element("a", [("href", "/failures?queue=\(HTML.urlComponent(name))")], String(failed))
            } else {
                html.text("0")
            }
            html.raw("</td>")
            numberCell(&html, stats.count(.cancelled), "cancelled")
            html.element(
                "td", [("class", "num")],
                stats.oldestPendingAge(now: report.now).map { DurationParser.format(milliseconds: $0) } ?? "–")
            html.element(
                "td", [("class", "num"), ("title", "succeeded / failed in the last minute")],
                "\(recent.succeeded) / \(recent.failed)")
            html.raw("<td>")
            html.raw(ThroughputChart(perMinute: overview.lastHour[name] ?? Array(repeating: 0, count: 60)).svg())
            html.raw("</td>")
            html.element("td", [("class", "num")], StatsReport.pair(recent.waitP50, recent.waitP99))
            html.element("td", [("class", "num")], StatsReport.pair(recent.runP50, recent.runP99))
            html.raw("<td>")
            if let status {
                html.element(
                    "span",
                    [("class", status.breaker == "closed" ? "badge ok" : "badge bad"), ("title", status.upstream)],
                    status.breaker)
            } else {
                html.element("span", [("class", "badge muted"), ("title", "not served by this daemon")], "–")
            }
            html.raw("</td>")
            html.element("td", [("class", "num")], status.map { "\($0.connectionsOpen) / \($0.workers)" } ?? "–")
            html.element(
                "td", [("class", "num"), ("data-count", "concurrency")],
                status.map { "\($0.concurrencyLimit)\($0.adaptive ? " adaptive" : "")" } ?? "–")
            html.raw("<td>")
            let path = "/queues/\(HTML.urlComponent(name))"
            html.raw(
                paused
                    ? form(action: "\(path)/resume", button: "Resume", style: "primary")
                    : form(action: "\(path)/pause", button: "Pause", style: nil))
            if failed > 0 {
                html.raw(" ")
                html.raw(form(action: "\(path)/retry-failed", button: "Retry \(failed) failed", style: "primary"))
            }
            html.raw("</td></tr>")
        }
        html.raw("</tbody></table>")
        return html.text
    }

    private func numberCell(_ html: inout HTML, _ value: Int64, _ name: String) {
        html.element("td", [("class", "num"), ("data-count", name)], String(value))
    }

    // MARK: Failures

    func failures(
        _ jobs: [Job], queue: String?, page: Int, pageSize: Int, total: Int64, notice: Notice?
    ) -> String {
        var html = HTML()
        html.raw("<h1>Failed jobs")
        if let queue {
            html.raw(" in ")
            html.element("code", [], queue)
        }
        html.element("small", [("class", "muted")], " \(total) in all")
        html.raw("</h1>")
        if jobs.isEmpty {
            html.raw("<p class=\"muted\">No failed jobs here.</p>")
            return self.page(title: "Failures", notice: notice, html.text)
        }
        html.raw("<table class=\"failures\"><thead><tr>")
        for header in ["ID", "Queue", "Method", "Attempts", "Finished", "Last error", ""] {
            html.element("th", [], header)
        }
        html.raw("</tr></thead><tbody>")
        for job in jobs {
            html.open("tr", [("data-job", String(job.id))])
            html.raw("<td>")
            html.element("a", [("href", "/jobs/\(job.id)")], String(job.id))
            html.raw("</td>")
            html.element("td", [], job.queue)
            html.element("td", [], job.method)
            html.element("td", [("class", "num")], "\(job.attempts)")
            html.element("td", [], job.finishedAt.map(Timestamp.format) ?? "–")
            html.element("td", [("class", "error")], job.lastError ?? "")
            html.raw("<td>")
            html.raw(form(action: "/jobs/\(job.id)/retry", button: "Retry", style: "primary"))
            html.raw("</td></tr>")
        }
        html.raw("</tbody></table><div class=\"pager\">")
        let base = "/failures?" + (queue.map { "queue=\(HTML.urlComponent($0))&" } ?? "")
        if page > 1 {
            html.element("a", [("href", base + "page=\(page - 1)")], "← newer")
        }
        if Int64(page * pageSize) < total {
            html.element("a", [("href", base + "page=\(page + 1)")], "older →")
        }
        html.raw("</div>")
        return self.page(title: "Failures", notice: notice, html.text)
    }

    // MARK: Job detail

    func job(_ job: Job, notice: Notice?) -> String {
        var html = HTML()
        html.raw("<h1>Job \(job.id) ")
        html.element("span", [("class", "badge " + Self.badgeStyle(job)), ("id", "job-state")], job.displayState)
        html.raw("</h1><p>")
        if job.state == .failed || job.state == .cancelled {
            html.raw(form(action: "/jobs/\(job.id)/retry", button: "Retry", style: "primary"))
        }
        if job.state == .pending {
            html.raw(form(action: "/jobs/\(job.id)/cancel", button: "Cancel", style: "danger"))
        }
        html.raw("</p><dl class=\"fields\">")
        let optional: (Int64?) -> String = { $0.map { Timestamp.format($0) } ?? "–" }
        let fields: [(String, String)] = [
            ("id", String(job.id)), ("queue", job.queue), ("method", job.method),
            ("idempotency key", job.idempotencyKey ?? "– (the id is sent)"),
            ("ordering key", job.orderingKeyDisplay ?? "–"), ("priority", String(job.priority)),
            ("state", job.state.rawValue), ("attempts", String(job.attempts)),
            ("max attempts", job.maxAttempts.map { String($0) } ?? "queue default"),
            ("timeout", job.timeoutMilliseconds.map { DurationParser.format(milliseconds: $0) } ?? "queue default"),
            ("run at", Timestamp.format(job.runAt)), ("created at", Timestamp.format(job.createdAt)),
            ("started at", optional(job.startedAt)), ("finished at", optional(job.finishedAt)),
            ("lease owner", job.leaseOwner ?? "–"), ("lease until", optional(job.leaseUntil)),
            ("last error", job.lastError ?? "–"),
        ]
        for (name, value) in fields {
            html.element("dt", [], name)
            html.element("dd", [("data-field", name)], value)
        }
        html.raw("</dl><h2>Params</h2>")
        html.element("pre", [("id", "params")], job.params.map(JSONPrettyPrinter.format) ?? "(none)")
        html.raw("<h2>Result</h2>")
        html.element("pre", [("id", "result")], job.result.map(JSONPrettyPrinter.format) ?? "(none)")
        return page(title: "Job \(job.id)", notice: notice, html.text)
    }

    static func badgeStyle(_ job: Job) -> String {
        switch job.state {
        case .succeeded: "ok"
        case .failed: "bad"
        case .pending where job.isRetrying: "warn"
        default: "muted"
        }
    }

    // MARK: Errors and login

    func message(title: String, _ text: String) -> String {
        var html = HTML()
        html.element("h1", [], title)
        html.element("p", [], text)
        return page(title: title, notice: nil, html.text)
    }

    /// The login form: the only page served without the token, so it shows no data at all.
    func login(error: String?) -> String {
        var html = HTML()
        html.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Log in · dispatcher</title>")
        html.raw("<link rel=\"stylesheet\" href=\"/assets/dashboard.css\"></head><body><div class=\"login\">")
        html.raw("<h1>dispatcher</h1>")
        if let error { html.element("div", [("class", "notice error")], error) }
        html.raw("<form method=\"post\" action=\"/login\"><label for=\"token\">Admin token</label>")
        html.raw("<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" autofocus>")
        html.open("input", [("type", "hidden"), ("name", "csrf"), ("value", csrfToken)])
        html.raw("<button type=\"submit\" class=\"primary\">Log in</button></form></div></body></html>")
        return html.text
    }
}

/// A one-line message shown at the top of a page after an action.
struct Notice: Sendable, Equatable {
    var text: String
    var isError = false
}
