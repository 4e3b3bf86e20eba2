import Foundation
import PostgresNIO
import Testing
import UpstreamStub

@testable import Dispatcher

/// What the daemon sends is what the job says, whatever wrote the row; what the upstream answers
/// is judged by JSON-RPC's code whatever the status; and a configuration is refused whole, before
/// the database is touched, when any part of it is wrong.
@Suite("request integrity, JSON-RPC errors in any status, strict configuration", .timeLimit(.minutes(3)))
struct RequestIntegrityTests {
    /// Rows no transport may frame, written straight into the store as another program would.
    static let unframeable: [(method: String, params: String, error: String)] = [
        ("inj.test", #"{"marker":"inj"},"method":"admin.deleteEverything""#, "params are not valid JSON: "),
        ("bad.json", "{not json", "params are not valid JSON: "),
        ("scalar", "42", "params must be a JSON object or array"),
    ]

    static func insertRaw(_ database: TestDatabase, method: String, params: String) async throws {
        let quoted = "'" + params.replacingOccurrences(of: "'", with: "''") + "'"
        let sql =
            "INSERT INTO jobs (queue, method, params, run_at, created_at) VALUES ('default', '\(method)', \(quoted), 0, 0)"
        switch try database.location {
        case .sqlite(let path):
            // SQLite refuses such a new row (`jobs_validate_insert`), so the other program here
            // writes a valid one and then changes its params, as an UPDATE may.
            let connection = try Rows(path).store.connection
            try connection.execute(
                "INSERT INTO jobs (queue, method, params, run_at, created_at) VALUES ('default', '\(method)', NULL, 0, 0)"
            )
            try connection.execute("UPDATE jobs SET params = \(quoted) WHERE id = last_insert_rowid()")
        case .postgres(let url):
            let connection = try await PostgresStore.connect(url: url, logger: StoreLocation.silent)
            try await connection.query(PostgresQuery(unsafeSQL: sql.qualifiedForTests), logger: StoreLocation.silent)
            try? await connection.close()
        }
    }

    @Test(arguments: StoreKind.available)
    func rowsThatCannotBeFramedFailUnsentAfterOneAttempt(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let directory = database.directory
        let enqueued = try await DispatcherProcess.run(
            ["enqueue", "--method", "ok.method", "--params", "[1]"], in: directory, environment: database.environment)
        #expect(enqueued.status == 0, "\(enqueued.stderr)")
        for row in Self.unframeable { try await Self.insertRaw(database, method: row.method, params: row.params) }
        let stub = UpstreamStub(recordsRequests: true)
        let port = try await stub.start()
        try await stub.stopping {
            let result = try await DispatcherProcess.run(
                DaemonTests.runArguments(port: port, extra: ["--exit-when-idle"]), in: directory,
                environment: database.environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(stub.receivedRequests.map(\.method) == ["ok.method"])
            #expect(!stub.receivedRequests.contains { $0.body.contains("admin.deleteEverything") })
            let jobs = try await database.jobs()
            #expect(jobs.count == 4)
            #expect(jobs.first?.state == .succeeded)
            for row in Self.unframeable {
                let job = try #require(jobs.first { $0.method == row.method })
                #expect(job.state == .failed && job.attempts == 1, "\(row.method): \(job.state) after \(job.attempts)")
                #expect(job.lastError?.hasPrefix(row.error) == true, "\(job.lastError ?? "nil")")
                // Whatever the row holds, --json prints valid JSON, the params as they are or as a string.
                let show = try await DispatcherProcess.run(
                    ["show", String(job.id), "--json"], in: directory, environment: database.environment)
                let object = try jsonObject(show.stdout)
                if row.params == "42" {
                    #expect(object["params"] as? Int == 42)
                } else {
                    #expect(object["params"] as? String == row.params)
                }
            }
            let list = try await DispatcherProcess.run(
                ["list", "--json"], in: directory, environment: database.environment)
            #expect(list.status == 0)
            #expect(try list.lines.map(jsonObject).count == 4)
        }
    }

    static func errorBody(_ code: Int, _ message: String, id: Int64?) -> String {
        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":\(code),\"message\":\"\(message)\"},\"id\":\(id ?? -1)}"
    }

    @Test func jsonRPCErrorsAreJudgedByCodeWhateverTheStatus() async throws {
        let directory = try TemporaryDirectory()
        let batch = """
            {"method":"missing","params":[]}
            {"method":"busy","params":[]}
            {"method":"html","params":[],"max_attempts":2}
            {"method":"code1","params":[]}
            {"method":"server","params":[]}

            """
        #expect(try await DispatcherProcess.run(["enqueue", "--batch"], in: directory, stdin: batch).status == 0)
        let stub = UpstreamStub { request in
            switch request.method {
            case "missing": return .status(500, body: Self.errorBody(-32601, "Method not found", id: request.id))
            case "busy":
                return request.timesSeen <= 2
                    ? .status(500, body: Self.errorBody(-32000, "Loading block index", id: request.id))
                    : .result("\"ready\"")
            case "html": return .status(503, body: "<html>\r\n<h1>Service Unavailable</h1>\n</html>")
            case "code1":
                return request.timesSeen == 1 ? .rpcError(code: 1, message: "try later") : .result("\"later\"")
            default: return .rpcError(code: -32603, message: "internal error")
            }
        }
        let port = try await stub.start()
        try await stub.stopping {
            let result = try await DispatcherProcess.run(
                DaemonTests.runArguments(
                    port: port, extra: ["--exit-when-idle", "--retry-codes", "1,-32000", "--breaker-failures", "50"]),
                in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            let jobs = Dictionary(try Rows(directory.database).all().map { ($0.method, $0) }) { first, _ in first }
            let missing = try #require(jobs["missing"])
            #expect(missing.state == .failed && missing.attempts == 1)
            #expect(missing.lastError == "JSON-RPC error -32601: Method not found")
            let busy = try #require(jobs["busy"])
            #expect(busy.state == .succeeded && busy.attempts == 3)
            let html = try #require(jobs["html"])
            #expect(html.state == .failed && html.attempts == 2)
            #expect(html.lastError?.hasPrefix("HTTP 503: <html>\\x0d\\x0a<h1>") == true, "\(html.lastError ?? "nil")")
            let code1 = try #require(jobs["code1"])
            #expect(code1.state == .succeeded && code1.attempts == 2)
            // --retry-codes replaces the default set: -32603, retried by default, is now permanent.
            let server = try #require(jobs["server"])
            #expect(server.state == .failed && server.attempts == 1)
            #expect(server.lastError == "JSON-RPC error -32603: internal error")
        }
    }

    @Test func badConfigurationsFailWithOneLineAndLeaveTheDatabaseAlone() async throws {
        let directory = try TemporaryDirectory()
        #expect(try await DispatcherProcess.run(["enqueue", "--method", "m"], in: directory).status == 0)
        let http = "http://127.0.0.1:1/"
        let grpc = "grpc://127.0.0.1:1"
        func config(_ name: String, _ json: String) throws -> [String] {
            try json.write(toFile: directory.path(name), atomically: true, encoding: .utf8)
            return ["run", "--config", name]
        }
        func queue(_ members: String, upstream: String = http, top: String = "") -> String {
            "{\(top)\"queues\": [{\"upstream\": \"\(upstream)\"\(members.isEmpty ? "" : ", " + members)}]}"
        }
        let cases: [(arguments: [String], says: String)] = [
            (
                ["run", "--upstream", http, "--header", "X-Key: ${env:DISPATCHER_TEST_UNSET_SECRET}"],
                "DISPATCHER_TEST_UNSET_SECRET"
            ),
            (
                ["run", "--upstream", http, "--header", "X-Key: ${file:/nonexistent/dispatcher-secret}"],
                "/nonexistent/dispatcher-secret"
            ),
            (["run", "--upstream", http, "--header", "X-Key: a\rb"], "CR, LF or NUL"),
            (["run", "--upstream", http, "--header", "X-Key: a\nb"], "CR, LF or NUL"),
            (["run", "--upstream", http, "--header", "X\rKey: a"], "CR, LF or NUL"),
            (try config("nul.json", queue(#""headers": {"X-Key": "a\u0000b"}"#)), "CR, LF or NUL"),
            (["run", "--upstream", http, "--header", "Host: evil"], "Host"),
            (["run", "--upstream", http, "--header", "Content-Length: 1"], "Content-Length"),
            (["run", "--upstream", http, "--header", "content-type: text/plain"], "content-type"),
            (["run", "--upstream", http, "--header", "Transfer-Encoding: chunked"], "Transfer-Encoding"),
            (["run", "--upstream", http, "--header", "Connection: close"], "Connection"),
            (["run", "--upstream", http, "--header", "Idempotency-Key: k"], "Idempotency-Key"),
            (["run", "--upstream", grpc, "--header", "grpc-timeout: 1S"], "grpc-timeout"),
            (["run", "--upstream", grpc, "--header", "te: trailers"], "te"),
            (["run", "--upstream", grpc, "--header", "Content-Type: x"], "content-type"),
            (try config("pseudo.json", queue(#""headers": {":path": "/x"}"#, upstream: grpc)), ":path"),
            (["run", "--upstream", grpc, "--header", "Keep-Alive: 5"], "cannot be carried"),
            (["run", "--upstream", grpc, "--header", "X-Name: café"], "printable ASCII"),
            (["run", "--upstream", grpc, "--retry-codes", "1"], "--retry-codes"),
            (["run", "--upstream", http, "--retry-codes", "one"], "--retry-codes"),
            (["run", "--upstream", "http://u:\(UpstreamAuthTests.password)@127.0.0.1:99999/"], "u:***@"),
            (["run", "--upstream", "http://u:p@127.0.0.1:1/", "--header", "Authorization: Bearer x"], "use one"),
            (try config("typo.json", queue(#""wrokers": 3"#)), "queues[0].wrokers: unknown key"),
            (try config("top.json", queue("", top: #""drain_timout": "5s", "#)), "drain_timout: unknown key"),
            (try config("nested.json", queue(#""retry": {"bse": "1s"}"#)), "queues[0].retry.bse: unknown key"),
            (try config("timeout.json", queue(#""timeout": "0s""#)), "queues[0].timeout must be positive"),
            (
                try config("poll.json", queue("", top: #""poll_interval": "0ms", "#)),
                "poll_interval must be at least 1ms"
            ),
            (try config("breaker.json", queue(#""breaker": {"failures": 0}"#)), "queues[0].breaker.failures"),
            (try config("workers.json", queue(#""workers": 0"#)), "queues[0].workers must be between 1 and 1024"),
            (try config("many.json", queue(#""workers": 5000"#)), "queues[0].workers"),
            (try config("threads.json", queue("", top: #""io_threads": 65, "#)), "io_threads"),
            (try config("prune.json", queue("", top: #""prune_interval": "1ms", "#)), "prune_interval"),
            (try config("capacity.json", queue(#""channel_capacity": 0"#)), "queues[0].channel_capacity"),
            (try config("attempts.json", queue(#""max_attempts": 0"#)), "queues[0].max_attempts"),
            (try config("burst.json", queue(#""burst": 5"#)), "queues[0].burst needs queues[0].rate"),
            (try config("response.json", queue(#""max_response_bytes": 0"#)), "queues[0].max_response_bytes"),
            (try config("base.json", queue(#""retry": {"base": "0s"}"#)), "queues[0].retry.base"),
            (try config("codes.json", queue(#""retry_codes": [1]"#, upstream: grpc)), "queues[0].retry_codes"),
            (
                try config("secret.json", queue(#""headers": {"X": "${env:DISPATCHER_TEST_UNSET_SECRET}"}"#)),
                "DISPATCHER_TEST_UNSET_SECRET"
            ),
            (
                try config("listen.json", queue("", top: #""listen_db": "postgres://u@127.0.0.1/db", "#)),
                "listen_db needs a PostgreSQL --db"
            ),
            (
                try config("twice.json", #"{"queues": [{"upstream": "\#(http)"}, {"upstream": "\#(http)"}]}"#),
                "queues[1].name 'default' is already used by queues[0]"
            ),
            (["run", "--upstream", "http://127.0.0.1:1/", "--timeout", "0s"], "--timeout must be positive"),
            (["run", "--upstream", "http://127.0.0.1:1/", "--poll-interval", "0ms"], "--poll-interval"),
            (["run", "--upstream", "http://127.0.0.1:1/", "--breaker-failures", "0"], "--breaker-failures"),
        ]
        for (arguments, says) in cases {
            let result = try await DispatcherProcess.run(
                arguments + ["--db", "fresh.db"], in: directory, environment: ["DISPATCHER_TEST_SECRET": "s"],
                timeout: .seconds(20))
            #expect(result.status == 1, "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(says), "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains(UpstreamAuthTests.password))
            #expect(!FileManager.default.fileExists(atPath: directory.path("fresh.db")), "\(arguments)")
        }
        // The database that was there is as it was.
        let jobs = try Rows(directory.database).all()
        #expect(jobs.count == 1 && jobs[0].state == .pending && jobs[0].attempts == 0)
    }
}
