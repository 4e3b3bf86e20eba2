import Hummingbird
import NIOCore
import WorkerPool

/// The HTTP enqueue API (`dispatcher run --api`), for services that cannot reach the store:
/// `POST /v1/jobs`, `POST /v1/jobs/batch`, `GET /v1/jobs/{id}` and `GET /v1/openapi.json`
/// (README, "Enqueue from your application"; the document in `openapi.json` describes each).
///
/// A job is written as `dispatcher enqueue` writes it: the same fields as an `--batch` line, the
/// same validation, durable before the answer. Writes go through `EnqueueWriter` (group commit);
/// reads through a store connection of their own, so a read never runs inside a write's
/// transaction.
struct EnqueueAPI: Sendable {
    /// The largest request body: 413 beyond it.
    static let maximumBodyBytes = 16 << 20
    /// Every route, as the OpenAPI document must describe them (a test holds the two together).
    static let routes: [(method: String, path: String)] = [
        ("post", "/v1/jobs"), ("post", "/v1/jobs/batch"), ("get", "/v1/jobs/{id}"), ("get", "/v1/openapi.json"),
    ]

    let writer: EnqueueWriter
    let reader: any OperatorStore
    /// The bearer token every route but the document needs; nil: none (loopback only).
    let token: String?

    /// Opens the API's two store connections (`location` as `--db` names it).
    static func open(_ location: StoreLocation, token: String?) async throws -> EnqueueAPI {
        let writer = EnqueueWriter(store: try await location.openOperatorStore())
        return EnqueueAPI(writer: writer, reader: try await location.openOperatorStore(), token: token)
    }

    func close() async {
        await writer.store.close()
        await reader.close()
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/openapi.json") { _, _ in
            Self.response(.ok, String(decoding: PackageResources.openapi_json, as: UTF8.self))
        }
        let api = router.group().add(middleware: APITokenMiddleware(token: token))
        api.post("/v1/jobs") { request, _ in await answer { try await single(request) } }
        api.post("/v1/jobs/batch") { request, _ in await answer { try await batch(request) } }
        api.get("/v1/jobs/{id}") { _, context in
            await answer {
                guard let id = context.parameters.get("id", as: Int64.self) else {
                    throw APIError(.notFound, "no job with id '\(context.parameters.get("id") ?? "")'")
                }
                guard let job = try await reader.job(id: id) else { throw APIError(.notFound, "no job with id \(id)") }
                return Self.response(.ok, JobJSON.object(job))
            }
        }
    }

    /// `POST /v1/jobs`: one job object; 201 with its id, 200 with the existing one for a known key.
    private func single(_ request: Request) async throws -> Response {
        let now = WallClock.nowMilliseconds()
        let body = try await Self.body(of: request)
        let job = try body.withUnsafeReadableBytes { bytes in
            do {
                return try BatchParser(now: now).parseLine(bytes)
            } catch let error as DispatcherError {
                throw APIError(.badRequest, error.description)
            }
        }
        let result = try await writer.enqueue([job])[0]
        return Self.response(result.created ? .created : .ok, "{\"id\":\(result.id)}")
    }

    /// `POST /v1/jobs/batch`: NDJSON, every line checked as the body streams in before any is
    /// written (one bad line rejects the batch), then written in chunks as the CLI writes them.
    private func batch(_ request: Request) async throws -> Response {
        try Self.checkLength(request)
        var stream = BatchParser.Stream(parser: BatchParser(now: WallClock.nowMilliseconds()))
        var jobs = [NewJob]()
        var received = 0
        do {
            for try await block in request.body {
                received += block.readableBytes
                guard received <= Self.maximumBodyBytes else { throw APIError.tooLarge }
                try block.withUnsafeReadableBytes { try stream.feed($0) { jobs.append($0) } }
            }
            try stream.finish { jobs.append($0) }
        } catch let error as DispatcherError {
            throw APIError(.badRequest, error.description)
        }
        guard !jobs.isEmpty else { throw APIError(.badRequest, "the batch holds no job") }
        var ids = [Int64]()
        ids.reserveCapacity(jobs.count)
        var created = false
        for start in stride(from: 0, to: jobs.count, by: EnqueueWriter.maximumJobs) {
            let chunk = Array(jobs[start..<min(start + EnqueueWriter.maximumJobs, jobs.count)])
            do {
                for result in try await writer.enqueue(chunk) {
                    ids.append(result.id)
                    created = created || result.created
                }
            } catch  where !ids.isEmpty {
                throw APIError(
                    .serviceUnavailable,
                    "\(error) (\(ids.count) of \(jobs.count) jobs were committed before the failure; their ids are given)",
                    ids: ids)
            }
        }
        return Self.response(created ? .created : .ok, Self.idsObject(ids))
    }

    /// The request body, at most `maximumBodyBytes`.
    private static func body(of request: Request) async throws -> ByteBuffer {
        try checkLength(request)
        do {
            return try await request.body.collect(upTo: maximumBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge
        }
    }

    /// 413 at once for a body announced as too large, before any of it is read.
    private static func checkLength(_ request: Request) throws {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maximumBodyBytes {
            throw APIError.tooLarge
        }
    }

    /// Runs a route: an `APIError` is its own answer, a store's failure 503 (the request may be
    /// sent again: nothing of it was committed).
    private func answer(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let error as APIError {
            var object = "{\"error\":\(JSONEscaping.quoted(error.message))"
            if let ids = error.ids { object += ",\"ids\":" + Self.idsArray(ids) }
            return Self.response(error.status, object + "}")
        } catch {
            return Self.response(.serviceUnavailable, "{\"error\":\(JSONEscaping.quoted("\(error)"))}")
        }
    }

    static func response(_ status: HTTPResponse.Status, _ json: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
    }

    static func idsObject(_ ids: [Int64]) -> String { "{\"ids\":" + idsArray(ids) + "}" }

    private static func idsArray(_ ids: [Int64]) -> String {
        var text = "["
        text.reserveCapacity(ids.count * 8 + 2)
        for (index, id) in ids.enumerated() {
            if index > 0 { text += "," }
            text += String(id)
        }
        return text + "]"
    }
}

/// An answer other than success, with the message for `{"error": …}`.
struct APIError: Error {
    var status: HTTPResponse.Status
    var message: String
    /// The ids a failed batch did commit.
    var ids: [Int64]? = nil

    init(_ status: HTTPResponse.Status, _ message: String, ids: [Int64]? = nil) {
        self.status = status
        self.message = message
        self.ids = ids
    }

    static var tooLarge: APIError {
        APIError(.contentTooLarge, "the request body is larger than \(EnqueueAPI.maximumBodyBytes >> 20) MiB")
    }
}

/// 401 unless the request carries `Authorization: Bearer TOKEN` (when a token is set).
struct APITokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let token else { return try await next(request, context) }
        let given = request.headers[.authorization] ?? ""
        guard given.hasPrefix("Bearer "), AdminAccess.constantTimeEquals(String(given.dropFirst(7)), token) else {
            var response = EnqueueAPI.response(.unauthorized, "{\"error\":\"a bearer token is required\"}")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }
}
