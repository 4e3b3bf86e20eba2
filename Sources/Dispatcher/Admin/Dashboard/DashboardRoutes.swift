import HTTPTypes
import Hummingbird

/// The dashboard's routes on the admin listener: pages (GET) and actions (POST with the CSRF
/// token), all behind `AdminAccess` when a token is configured.
struct DashboardRoutes: Sendable {
    /// Failed jobs per page.
    static let pageSize = 50
    /// Largest form body accepted.
    static let maximumFormBytes = 16 * 1024

    let store: any OperatorStore
    let live: LiveQueueBoard
    let access: AdminAccess
    let storeName: String
    /// Host names (without port) the dashboard answers to; nil accepts any (public listeners,
    /// which need a token).
    var allowedHosts: Set<String>?

    var pages: DashboardPages {
        DashboardPages(csrfToken: access.csrfToken, storeName: storeName, loginEnabled: access.requiresLogin)
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/assets/dashboard.css") { _, _ in
            Self.response(.ok, contentType: "text/css; charset=utf-8", DashboardAssets.stylesheet)
        }
        router.get("/assets/dashboard.js") { _, _ in
            Self.response(.ok, contentType: "text/javascript; charset=utf-8", DashboardAssets.script)
        }
        router.get("/login") { _, _ in
            Self.html(.ok, pages.login(error: nil))
        }
        router.post("/login") { request, _ in try await logIn(request) }

        let protected = router.group()
            .add(middleware: HostCheckMiddleware(allowedHosts: allowedHosts))
            .add(middleware: DashboardAccessMiddleware(access: access, pages: pages))
        protected.post("/logout") { request, _ in try await logOut(request) }
        protected.get("/") { request, _ in try await overview(request) }
        protected.get("/partials/overview") { _, _ in
            let overview = try await overview(now: WallClock.nowMilliseconds())
            return Self.html(.ok, pages.overviewTable(overview, live: live.snapshot))
        }
        protected.get("/failures") { request, _ in try await failures(request) }
        protected.get("/schedules") { _, _ in
            let now = WallClock.nowMilliseconds()
            let report = ScheduleReport(records: try await store.schedules(), now: now)
            return Self.html(.ok, pages.schedules(report, paused: try await store.statistics(now: now).paused))
        }
        protected.get("/jobs/{id}") { request, context in
            guard let id = context.parameters.get("id", as: Int64.self) else {
                return Self.html(.notFound, pages.message(title: "Not found", "No such job."))
            }
            guard let job = try await store.job(id: id) else {
                return Self.html(.notFound, pages.message(title: "Not found", "No job with id \(id)."))
            }
            return Self.html(.ok, pages.job(job, notice: Self.notice(from: request)))
        }
        protected.post("/jobs/{id}/retry") { request, context in
            try await act(request, context) { id, _ in
                _ = try await store.retry(ids: [id], now: WallClock.nowMilliseconds())
                return "/jobs/\(id)?done=retried"
            }
        }
        protected.post("/jobs/{id}/cancel") { request, context in
            try await act(request, context) { id, _ in
                _ = try await store.cancel(ids: [id], now: WallClock.nowMilliseconds())
                return "/jobs/\(id)?done=cancelled"
            }
        }
        protected.post("/queues/{queue}/retry-failed") { request, context in
            try await act(request, context) { _, queue in
                let count = try await store.retry(state: .failed, queue: queue, now: WallClock.nowMilliseconds())
                return "/?done=retried-failed&queue=\(HTML.urlComponent(queue))&count=\(count)"
            }
        }
        protected.post("/queues/{queue}/pause") { request, context in
            try await act(request, context) { _, queue in
                _ = try await store.setPaused(true, queue: queue, now: WallClock.nowMilliseconds())
                return "/?done=paused&queue=\(HTML.urlComponent(queue))"
            }
        }
        protected.post("/queues/{queue}/resume") { request, context in
            try await act(request, context) { _, queue in
                _ = try await store.setPaused(false, queue: queue, now: WallClock.nowMilliseconds())
                return "/?done=resumed&queue=\(HTML.urlComponent(queue))"
            }
        }
    }

    // MARK: Pages

    /// Counts and activity in one snapshot, then the last hour's chart a moment later at most.
    private func overview(now: Int64) async throws -> DashboardOverview {
        let statistics = try await store.statistics(now: now)
        return DashboardOverview(
            report: StatsReport(now: now, statistics: statistics),
            lastHour: try await store.finishedPerMinute(now: now, minutes: 60))
    }

    private func overview(_ request: Request) async throws -> Response {
        let overview = try await overview(now: WallClock.nowMilliseconds())
        return Self.html(.ok, pages.overview(overview, live: live.snapshot, notice: Self.notice(from: request)))
    }

    private func failures(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let queue = query["queue"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let page = max(1, query["page"].flatMap { Int($0) } ?? 1)
        let offset = min(page - 1, 1_000_000) * Self.pageSize
        let jobs = try await store.failedJobs(queue: queue, offset: offset, limit: Self.pageSize)
        let now = WallClock.nowMilliseconds()
        let report = StatsReport(now: now, statistics: try await store.statistics(now: now))
        let total = report.queues.filter { queue == nil || $0.queue == queue }.map { $0.count(.failed) }.reduce(0, +)
        return Self.html(
            .ok,
            pages.failures(
                jobs, queue: queue, page: page, pageSize: Self.pageSize, total: total,
                notice: Self.notice(from: request)))
    }

    // MARK: Actions

    /// Checks the CSRF token, runs `change`, and redirects to the page it names (303, so a
    /// reload does not repeat the action). A refused change (the job moved on meanwhile)
    /// answers 409 with the reason; nothing was written.
    private func act(
        _ request: Request, _ context: BasicRequestContext,
        _ change: (_ id: Int64, _ queue: String) async throws -> String
    ) async throws -> Response {
        var request = request
        let form = FormData(
            String(buffer: try await request.collectBody(upTo: Self.maximumFormBytes)))
        guard access.isValidCSRF(form["csrf"]) else {
            return Self.html(
                .forbidden,
                pages.message(
                    title: "Forbidden", "The form's CSRF token is missing or stale: reload the page and try again."))
        }
        let id = context.parameters.get("id", as: Int64.self) ?? 0
        let queue = context.parameters.get("queue").flatMap { FormData.decode(Substring($0)) } ?? ""
        do {
            let location = try await change(id, queue)
            return Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
        } catch let error as DispatcherError {
            return Self.html(.conflict, pages.message(title: "Not done", error.description))
        }
    }

    private func logIn(_ request: Request) async throws -> Response {
        var request = request
        let form = FormData(String(buffer: try await request.collectBody(upTo: Self.maximumFormBytes)))
        guard access.isValidCSRF(form["csrf"]) else {
            return Self.html(.forbidden, pages.login(error: "The form expired: try again."))
        }
        guard access.requiresLogin else {
            return Response(status: .seeOther, headers: [.location: "/"])
        }
        guard let session = access.logIn(with: form["token"] ?? "") else {
            return Self.html(.unauthorized, pages.login(error: "Wrong token."))
        }
        var response = Response(status: .seeOther, headers: [.location: "/"])
        response.setCookie(
            Cookie(name: AdminAccess.cookieName, value: session, path: "/", httpOnly: true, sameSite: .strict))
        return response
    }

    private func logOut(_ request: Request) async throws -> Response {
        var request = request
        let form = FormData(String(buffer: try await request.collectBody(upTo: Self.maximumFormBytes)))
        guard access.isValidCSRF(form["csrf"]) else {
            return Self.html(
                .forbidden, pages.message(title: "Forbidden", "The form's CSRF token is missing or stale."))
        }
        access.logOut(request.cookies[AdminAccess.cookieName]?.value)
        var response = Response(status: .seeOther, headers: [.location: "/login"])
        response.setCookie(
            Cookie(name: AdminAccess.cookieName, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict))
        return response
    }

    // MARK: Helpers

    /// The message of a finished action, from the fixed set the actions redirect with (so a
    /// crafted link cannot put words on the page).
    static func notice(from request: Request) -> Notice? {
        let query = request.uri.queryParameters
        let queue = query["queue"].map(String.init) ?? ""
        switch query["done"] {
        case "retried": return Notice(text: "Retried: the job is pending again, due now.")
        case "cancelled": return Notice(text: "Cancelled the job.")
        case "retried-failed":
            let count = query["count"].flatMap { Int($0) } ?? 0
            return Notice(text: "Retried \(count) failed job\(count == 1 ? "" : "s") of queue \(queue).")
        case "paused": return Notice(text: "Paused queue \(queue): no daemon claims its jobs until it is resumed.")
        case "resumed": return Notice(text: "Resumed queue \(queue).")
        default: return nil
        }
    }

    static func html(_ status: HTTPResponse.Status, _ body: String) -> Response {
        response(status, contentType: "text/html; charset=utf-8", body)
    }

    static func response(_ status: HTTPResponse.Status, contentType: String, _ body: String) -> Response {
        var response = Response(
            status: status,
            headers: [
                .contentType: contentType, .cacheControl: "no-store", .xContentTypeOptions: "nosniff",
                .contentSecurityPolicy:
                    "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return response
    }
}

/// Lets a request through to the dashboard only with the admin token (header or session
/// cookie) when one is configured; otherwise 401 with the login form, which shows no data.
struct DashboardAccessMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let access: AdminAccess
    let pages: DashboardPages

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard
            access.isAuthorized(
                authorization: request.headers[.authorization],
                sessionCookie: request.cookies[AdminAccess.cookieName]?.value)
        else {
            return DashboardRoutes.html(.unauthorized, pages.login(error: nil))
        }
        return try await next(request, context)
    }
}

/// Answers 421 to a request whose `Host` is not one of the listener's own loopback names: the
/// defence against DNS rebinding for a dashboard that has no token.
struct HostCheckMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let allowedHosts: Set<String>?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let allowedHosts else { return try await next(request, context) }
        let host = request.head.authority ?? ""
        guard allowedHosts.contains(Self.name(of: host)) else {
            return DashboardRoutes.response(
                .misdirectedRequest, contentType: "text/plain; charset=utf-8",
                "This dashboard answers only to its loopback address.\n")
        }
        return try await next(request, context)
    }

    /// The host part of a `Host` value: `127.0.0.1:9464` → `127.0.0.1`, `[::1]:9464` → `[::1]`.
    static func name(of host: String) -> String {
        if host.hasPrefix("[") {
            return host.firstIndex(of: "]").map { String(host[...$0]) } ?? host
        }
        return host.split(separator: ":", maxSplits: 1).first.map(String.init) ?? host
    }
}
