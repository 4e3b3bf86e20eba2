import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

/// The HTTP enqueue API of `dispatcher run --api`, end to end through the binary.
@Suite("HTTP enqueue API", .serialized, .timeLimit(.minutes(3)))
struct EnqueueAPITests {
    static let token = "api-token-for-tests-0123"

    /// A daemon serving `database` with the API on a loopback port; returns it and the port.
    static func start(
        _ database: TestDatabase, upstream: Int, extra: [String] = ["--api-token", token]
    ) async throws -> (DispatcherProcess.Running, Int) {
        let daemon = try DispatcherProcess.start(
            DaemonTests.runArguments(port: upstream, workers: 2)
                + ["--db", database.argument, "--api", "127.0.0.1:0", "--log-level", "info"] + extra,
            in: database.directory)
        return (daemon, try await OperatingTests.listeningPort(of: daemon, "enqueue API"))
    }

    static let bearer = [("Authorization", "Bearer \(token)")]

    /// The status codes the OpenAPI document gives for an operation.
    static func documented(_ method: String, _ path: String) throws -> Set<Int> {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(PackageResources.openapi_json)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let operation = try #require(paths[path]?[method] as? [String: Any], "\(method) \(path) is not documented")
        let responses = try #require(operation["responses"] as? [String: Any])
        return Set(responses.keys.compactMap { Int($0) })
    }

    @Test(arguments: StoreKind.available)
    func everyAnswerIsAsDocumentedAndTheJobsRun(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let stub = UpstreamStub { request in .result("{\"got\":\"\(request.method ?? "-")\"}") }
        let upstream = try await stub.start()
        try await stub.stopping {
            let (daemon, port) = try await Self.start(database, upstream: upstream)
            defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
            var seen = [String: Set<Int>]()
            func call(
                _ method: String, _ path: String, route: String? = nil, auth: Bool = true, body: String? = nil,
                keepAlive: Bool = false
            ) throws -> HTTPClient.Response {
                // A body the server refuses unread is sent on a kept-alive connection: the server
                // reads it away after answering, where with `Connection: close` it stops reading and
                // a client that sends all before it reads would wait on a full socket.
                let response = try HTTPClient.Connection(port: port).send(
                    method, path, headers: auth ? Self.bearer : [("Authorization", "Bearer wrong-token-0123456")],
                    body: body, close: !keepAlive)
                seen["\(method.lowercased()) \(route ?? path)", default: []].insert(response.status)
                #expect(response.header("content-type") == "application/json", "\(method) \(path)")
                return response
            }

            #expect(try call("POST", "/v1/jobs", auth: false, body: #"{"method":"a"}"#).status == 401)
            #expect(try call("GET", "/v1/jobs/1", route: "/v1/jobs/{id}", auth: false).status == 401)
            #expect(try call("POST", "/v1/jobs/batch", auth: false, body: #"{"method":"a"}"#).status == 401)
            let first = try call("POST", "/v1/jobs", body: #"{"method":"api.one","params":{"n":1},"key":"k-1"}"#)
            #expect(first.status == 201 && first.body == #"{"id":1}"#, "\(first.body)")
            let again = try call("POST", "/v1/jobs", body: #"{"method":"api.other","key":"k-1"}"#)
            #expect(again.status == 200 && again.body == #"{"id":1}"#, "\(again.body)")
            let missing = try call("POST", "/v1/jobs", body: #"{"params":[1]}"#)
            #expect(missing.status == 400 && missing.body == #"{"error":"method: required"}"#, "\(missing.body)")
            let badField = try call("POST", "/v1/jobs", body: #"{"method":"m","max_attempts":0}"#)
            #expect(badField.status == 400 && badField.body.contains("max_attempts:"), "\(badField.body)")
            let badLine = try call(
                "POST", "/v1/jobs/batch",
                body: "{\"method\":\"b\"}\n{\"method\":\"c\"}\n{\"method\":\"d\",\"bogus\":1}\n")
            #expect(badLine.status == 400 && badLine.body.hasPrefix(#"{"error":"line 3: unknown field 'bogus'"#))
            let batch = try call(
                "POST", "/v1/jobs/batch", body: "{\"method\":\"api.b1\"}\n\n{\"method\":\"api.b2\",\"key\":\"k-1\"}")
            // A new id, then the known key's (PostgreSQL may have skipped ids on the known key).
            let ids = try #require(try jsonObject(batch.body)["ids"] as? [Int64])
            #expect(batch.status == 201 && ids.count == 2 && ids[0] > 1 && ids[1] == 1, "\(batch.body)")
            let known = try call("POST", "/v1/jobs/batch", body: "{\"method\":\"x\",\"key\":\"k-1\"}\n")
            #expect(known.status == 200 && known.body == #"{"ids":[1]}"#, "\(known.body)")
            let huge = String(repeating: " ", count: EnqueueAPI.maximumBodyBytes + 1)
            #expect(try call("POST", "/v1/jobs", body: huge, keepAlive: true).status == 413)
            #expect(try call("POST", "/v1/jobs/batch", body: huge, keepAlive: true).status == 413)
            #expect(try call("GET", "/v1/jobs/999", route: "/v1/jobs/{id}").status == 404)
            #expect(try call("GET", "/v1/jobs/nope", route: "/v1/jobs/{id}").status == 404)
            #expect(try call("GET", "/v1/openapi.json", auth: false).status == 200)

            try await waitUntil(timeout: .seconds(30)) {
                let jobs = (try? await database.jobs()) ?? []
                return jobs.count == 2 && jobs.allSatisfy { $0.state == .succeeded }
            }
            // The API's job is `show --json`'s, byte for byte.
            let shown = try await DispatcherProcess.run(
                ["show", "--json", "1", "--db", database.argument], in: database.directory)
            #expect(try call("GET", "/v1/jobs/1", route: "/v1/jobs/{id}").body + "\n" == shown.stdout)
            #expect(stub.requests == 2)
            for (operation, statuses) in seen {
                let parts = operation.split(separator: " ").map(String.init)
                let documented = try Self.documented(parts[0], parts[1])
                #expect(
                    statuses.isSubset(of: documented), "\(operation) answered \(statuses), documented \(documented)")
            }
            daemon.signal(SIGTERM)
            #expect(try await daemon.wait(timeout: .seconds(30)).status == 0)
        }
    }

    @Test func aKeepAliveClientSendsManyRequestsOnOneConnection() async throws {
        let database = try await TestDatabase.make(.sqlite)
        let (daemon, port) = try await Self.start(database, upstream: 1, extra: [])
        defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
        let connection = try HTTPClient.Connection(port: port)
        var ids = [String]()
        for index in 0..<50 {
            let response = try connection.send("POST", "/v1/jobs", body: "{\"method\":\"m\",\"params\":[\(index)]}")
            #expect(response.status == 201)
            ids.append(response.body)
        }
        #expect(Set(ids).count == 50)
        #expect(try connection.send("GET", "/v1/jobs/50").status == 200)
        daemon.signal(SIGTERM)
        #expect(try await daemon.wait(timeout: .seconds(30)).status == 0)
    }

    /// The batch commits chunk by chunk (10,000 jobs each): a daemon killed part way leaves
    /// whole chunks, never part of one.
    @Test func aKilledBatchLeavesWholeChunksOnly() async throws {
        let database = try await TestDatabase.make(.sqlite)
        let (daemon, port) = try await Self.start(database, upstream: 1, extra: [])
        defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
        let count = 300_000
        let lines = (0..<count).map { "{\"method\":\"m\",\"params\":[\($0)]}" }.joined(separator: "\n")
        let posting = Task.detached { try? HTTPClient.request(port: port, "POST", "/v1/jobs/batch", body: lines) }
        let rows = try Rows(database.directory.database)
        try await waitUntil(timeout: .seconds(60)) { ((try? rows.count()) ?? 0) > 0 }
        daemon.signal(SIGKILL)
        _ = try await daemon.wait(timeout: .seconds(30))
        _ = await posting.value
        let stored = try rows.count()
        // Killed after the first chunk, before the last (thirty take far longer than a poll).
        #expect(stored > 0 && stored < count && stored % EnqueueWriter.maximumJobs == 0, "\(stored) jobs stored")
    }

    /// The store refuses a row (an application's trigger here): 503 with its reason, nothing of
    /// that request stored; a batch that fails part way names the ids its committed chunks hold.
    @Test(arguments: StoreKind.available.filter(\.isPostgres))
    func aStoreFailureAnswers503AndABatchGivesTheIdsItCommitted(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        #expect(
            try await DispatcherProcess.run(["stats", "--db", database.argument], in: database.directory).status == 0)
        let app = try await PostgresEnqueueFunctionTests.connect(database)
        defer { Task { try? await app.close() } }
        for sql in [
            """
            CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.method = 'refused' THEN RAISE EXCEPTION 'refused by the test'; END IF;
                RETURN NEW;
            END $$
            """,
            "CREATE TRIGGER refuse BEFORE INSERT ON dispatcher.jobs FOR EACH ROW EXECUTE FUNCTION public.refuse()",
        ] {
            _ = try await PostgresEnqueueFunctionTests.run(sql, on: app)
        }
        let (daemon, port) = try await Self.start(database, upstream: 1, extra: [])
        defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
        let refused = try HTTPClient.request(port: port, "POST", "/v1/jobs", body: #"{"method":"refused"}"#)
        #expect(refused.status == 503 && refused.body.contains("refused by the test"), "\(refused.body)")
        let lines =
            Array(repeating: #"{"method":"m","queue":"q"}"#, count: EnqueueWriter.maximumJobs) + [
                #"{"method":"refused"}"#
            ]
        let batch = try HTTPClient.request(port: port, "POST", "/v1/jobs/batch", body: lines.joined(separator: "\n"))
        #expect(batch.status == 503, "\(batch.body.prefix(300))")
        let ids = try #require(try jsonObject(batch.body)["ids"] as? [Int64])
        #expect(ids.count == EnqueueWriter.maximumJobs)
        // The writer's connection recovered.
        #expect(try HTTPClient.request(port: port, "POST", "/v1/jobs", body: #"{"method":"after"}"#).status == 201)
        #expect(try await database.jobs().count == EnqueueWriter.maximumJobs + 1)
        daemon.signal(SIGTERM)
        #expect(try await daemon.wait(timeout: .seconds(30)).status == 0)
    }

    @Test func theAPIAndTheAdminEndpointShareAPortGivenTwice() async throws {
        let database = try await TestDatabase.make(.sqlite)
        let free = try WebDriver.freePort()
        let daemon = try DispatcherProcess.start(
            DaemonTests.runArguments(port: 1, workers: 1)
                + ["--db", database.argument, "--admin", "127.0.0.1:\(free)", "--api", "127.0.0.1:\(free)"],
            in: database.directory)
        defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
        try await waitUntil(timeout: .seconds(30)) {
            (try? HTTPClient.request(port: free, "GET", "/healthz").status) != nil
        }
        #expect(try HTTPClient.request(port: free, "POST", "/v1/jobs", body: #"{"method":"m"}"#).status == 201)
        #expect(try HTTPClient.request(port: free, "GET", "/metrics").status == 200)
        daemon.signal(SIGTERM)
        #expect(try await daemon.wait(timeout: .seconds(30)).status == 0)
    }

    @Test func unsafeOrMalformedAPISettingsFailInOneLine() async throws {
        let directory = try TemporaryDirectory()
        let cases: [(arguments: [String], environment: [String: String], message: String)] = [
            (["--api", "0.0.0.0:0"], [:], "refusing to serve the enqueue API on non-loopback address 0.0.0.0"),
            (["--api", "127.0.0.1:0", "--api-token", "short"], [:], "--api-token must be at least 16 characters"),
            (["--api-token", Self.token], [:], "--api-token needs --api"),
            (["--api", "127.0.0.1:0"], ["DISPATCHER_API_TOKEN": "short"], "DISPATCHER_API_TOKEN must be at least 16"),
            (["--api", "nope"], [:], "invalid --api 'nope'"),
        ]
        for (arguments, environment, message) in cases {
            let result = try await DispatcherProcess.run(
                ["run", "--upstream", "http://127.0.0.1:1/", "--db", directory.database] + arguments, in: directory,
                environment: environment, timeout: .seconds(30))
            #expect(result.status != 0)
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
    }
}

/// The OpenAPI document kept true to the code, no server needed.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    static func document() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(PackageResources.openapi_json)) as? [String: Any])
    }

    static func schema(_ name: String) throws -> [String: Any] {
        let components = try #require(try document()["components"] as? [String: Any])
        return try #require((components["schemas"] as? [String: Any])?[name] as? [String: Any])
    }

    @Test func itDescribesExactlyTheRoutesTheAPIServes() throws {
        let document = try Self.document()
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0) \(path)" } })
        #expect(documented == Set(EnqueueAPI.routes.map { "\($0.method) \($0.path)" }))
    }

    @Test func itsSchemasHaveTheFieldsTheCodeReadsAndWrites() throws {
        let newJob = try #require(try Self.schema("NewJob")["properties"] as? [String: Any])
        #expect(Set(newJob.keys) == BatchParser.knownFields)
        let job = Job(
            id: 1, queue: "q", method: "m", params: nil, idempotencyKey: nil, priority: 0, state: .pending,
            attempts: 0, maxAttempts: nil, runAt: 0, timeoutMilliseconds: nil, leaseOwner: nil, leaseUntil: nil,
            createdAt: 0, startedAt: nil, finishedAt: nil, lastError: nil, result: nil)
        let shown = try #require(
            try JSONSerialization.jsonObject(with: Data(JobJSON.object(job).utf8)) as? [String: Any])
        let jobSchema = try Self.schema("Job")
        #expect(Set(try #require(jobSchema["required"] as? [String])) == Set(shown.keys))
        #expect(Set(try #require(jobSchema["properties"] as? [String: Any]).keys) == Set(shown.keys))
    }
}
