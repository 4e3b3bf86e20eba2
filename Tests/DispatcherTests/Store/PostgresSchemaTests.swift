import Foundation
import Logging
import PostgresNIO
import Testing
import UpstreamStub

@testable import Dispatcher

/// The dispatcher's own schema on PostgreSQL: an application's tables of the same names in
/// `public` are never read or touched, an install made before the schema moves into it with its
/// jobs, and `?schema=` puts everything in another.
@Suite("PostgreSQL schema of its own", .serialized, .timeLimit(.minutes(2)))
struct PostgresSchemaTests {
    static var kinds: [StoreKind] { StoreKind.available.filter(\.isPostgres) }

    static func run(_ sql: String, on connection: PostgresConnection) async throws -> [PostgresRow] {
        do {
            return try await PostgresEnqueueFunctionTests.run(sql, on: connection)
        } catch let error as PSQLError {
            throw DispatcherError("\(PostgresErrors.cause(of: error)) in: \(sql.prefix(200))")
        }
    }

    static func int(_ sql: String, on connection: PostgresConnection) async throws -> Int64? {
        try await run(sql, on: connection).first?.decode(Int64?.self)
    }

    /// Runs a daemon on `database` until its jobs are all finished, then stops it. With a
    /// fleet-wide in-flight limit: its workers call only with slots from `queue_slots`, so the
    /// drain finishes only if that table is where the schema puts it.
    static func drain(_ database: TestDatabase, expecting count: Int, port: Int) async throws {
        let daemon = try DispatcherProcess.start(
            DaemonTests.runArguments(port: port, workers: 2, extra: ["--max-in-flight", "2"])
                + ["--db", database.argument], in: database.directory)
        defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
        try await waitUntil(timeout: .seconds(30)) {
            let jobs = (try? await database.jobs()) ?? []
            return jobs.count == count && jobs.allSatisfy { $0.state == .succeeded }
        }
        daemon.signal(SIGTERM)
        #expect(try await daemon.wait(timeout: .seconds(30)).status == 0)
    }

    /// `dispatcher stats --json`'s counts, by state.
    static func counts(_ database: TestDatabase) async throws -> [String: Int64] {
        let stats = try await DispatcherProcess.run(
            ["stats", "--json", "--db", database.argument], in: database.directory)
        let line = try #require(stats.lines.first)
        let counts = try #require(try jsonObject(line)["counts"] as? [String: Any])
        return counts.compactMapValues { ($0 as? NSNumber)?.int64Value }
    }

    @Test(arguments: kinds)
    func anApplicationsOwnTablesInPublicAreNeverReadOrTouched(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let app = try await PostgresEnqueueFunctionTests.connect(database)
        defer { Task { try? await app.close() } }
        // The application's tables under the dispatcher's names, and another tool's migrations
        // table (as Rails and dbmate keep it), all in public.
        for sql in [
            "CREATE TABLE jobs (id bigint PRIMARY KEY, note text NOT NULL)",
            "INSERT INTO jobs VALUES (1, 'the application''s'), (2, 'rows')",
            "CREATE TABLE job_counts (queue text)",
            "CREATE TABLE schema_migrations (version varchar PRIMARY KEY)",
            "INSERT INTO schema_migrations VALUES ('20260101000000')",
        ] {
            _ = try await Self.run(sql, on: app)
        }
        #expect(
            try await DispatcherProcess.run(
                ["enqueue", "--method", "cli.call", "--db", database.argument], in: database.directory
            ).status == 0)
        // The application's session has search_path public: its enqueue() and its plain insert
        // land in the dispatcher's tables, and its triggers count in the dispatcher's counts.
        _ = try await Self.run("SELECT dispatcher.enqueue('app.call')", on: app)
        _ = try await Self.run(
            "INSERT INTO dispatcher.jobs (method, run_at, created_at) VALUES ('app.plain', 0, 0)", on: app)
        let stub = UpstreamStub { _ in .result("true") }
        let port = try await stub.start()
        try await stub.stopping {
            try await Self.drain(database, expecting: 3, port: port)

            #expect(try await Self.int("SELECT count(*) FROM public.jobs", on: app) == 2)
            #expect(
                try await Self.int(
                    "SELECT count(*) FROM public.jobs WHERE note IN ('the application''s', 'rows')", on: app)
                    == 2)
            #expect(try await Self.int("SELECT count(*) FROM public.job_counts", on: app) == 0)
            #expect(try await Self.int("SELECT count(*) FROM public.schema_migrations", on: app) == 1)
            #expect(try await Self.int("SELECT count(*) FROM dispatcher.jobs WHERE state = 'succeeded'", on: app) == 3)
            #expect(try await Self.counts(database)["succeeded"] == 3)
            // Nothing of the dispatcher's is in public.
            let publicObjects = try await Self.int(
                """
                SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = 'public' AND c.relname NOT IN ('jobs', 'jobs_pkey', 'job_counts', 'schema_migrations', 'schema_migrations_pkey'))
                     + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public')
                """, on: app)
            #expect(publicObjects == 0)
        }
    }

    /// An install made before the schema: every migration up to 5 run in public, as they were,
    /// with jobs of every kind in it.
    @Test(arguments: kinds)
    func anInstallInPublicMovesIntoTheSchemaWithItsJobsAndCounts(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let app = try await PostgresEnqueueFunctionTests.connect(database)
        defer { Task { try? await app.close() } }
        _ = try await Self.run("CREATE SCHEMA dispatcher", on: app)  // migration 5 made it then
        _ = try await Self.run(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            on: app)
        _ = try await Self.run("BEGIN", on: app)  // the migrations ran in one transaction, as now
        for migration in Migration.postgres.prefix(5) {
            for statement in migration.statements { _ = try await Self.run(statement, on: app) }
            _ = try await Self.run(
                "INSERT INTO schema_migrations VALUES (\(migration.version), '\(migration.name)', 0)", on: app)
        }
        _ = try await Self.run("COMMIT", on: app)
        // Jobs written as the old binary wrote them, in public: two to run, one finished.
        for sql in [
            "INSERT INTO jobs (method, run_at, created_at) VALUES ('old.one', 0, 0), ('old.two', 0, 0)",
            "INSERT INTO jobs (method, state, run_at, created_at, finished_at) VALUES ('old.done', 'succeeded', 0, 0, dispatcher_now_ms())",
        ] {
            _ = try await Self.run(sql, on: app)
        }

        let stub = UpstreamStub { _ in .result("true") }
        let port = try await stub.start()
        try await stub.stopping {
            try await Self.drain(database, expecting: 3, port: port)

            #expect(stub.requests == 2)
            #expect(try await Self.int("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", on: app) == 0)
            #expect(
                try await Self.int(
                    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'",
                    on: app) == 0)
            #expect(
                try await Self.int("SELECT max(version) FROM dispatcher.schema_migrations", on: app)
                    == Int64(Migration.postgres.count))
            #expect(try await Self.int("SELECT count(*) FROM dispatcher.jobs WHERE state = 'succeeded'", on: app) == 3)
            // The moved counts and triggers go on counting, for the application's writes too.
            _ = try await Self.run("SELECT dispatcher.enqueue('new.one')", on: app)
            let counts = try await Self.counts(database)
            #expect(counts["succeeded"] == 3 && counts["pending"] == 1, "\(counts)")
        }
    }

    @Test(arguments: kinds)
    func aSchemaNamedInTheURLHoldsEverythingAndTheStandardOneIsNeverMade(kind: StoreKind) async throws {
        let standard = try await TestDatabase.make(kind)
        var url = try PostgresURL(parsing: standard.argument)
        url.schema = "tenant_a"
        let database = TestDatabase(
            kind: kind, directory: standard.directory, argument: url.withPassword,
            listenArgument: try standard.listenArgument.map {
                var listen = try PostgresURL(parsing: $0)
                listen.schema = "tenant_a"
                return listen.withPassword
            })
        #expect(
            try await DispatcherProcess.run(
                ["enqueue", "--method", "cli.call", "--key", "k", "--db", database.argument], in: database.directory
            ).status == 0)
        let app = try await PostgresEnqueueFunctionTests.connect(database)
        defer { Task { try? await app.close() } }
        _ = try await Self.run("SELECT tenant_a.enqueue('app.call')", on: app)
        // A known key is known in this schema.
        let again = try await Self.run("SELECT tenant_a.enqueue('other', key => 'k')", on: app)
        #expect(try again.first?.decode(Int64.self) == 1)
        let stub = UpstreamStub { _ in .result("true") }
        let port = try await stub.start()
        try await stub.stopping {
            try await Self.drain(database, expecting: 2, port: port)

            #expect(try await Self.int("SELECT count(*) FROM tenant_a.jobs WHERE state = 'succeeded'", on: app) == 2)
            #expect(try await Self.int("SELECT count(*) FROM pg_namespace WHERE nspname = 'dispatcher'", on: app) == 0)
            #expect(try await Self.counts(database)["succeeded"] == 2)
        }
    }
}

/// `?schema=` as typed, and the rewrite of the store's SQL into it; no server needed.
@Suite("schema settings")
struct PostgresSchemaSettingsTests {
    @Test func theSchemaIsReadFromTheURLValidatedAndShownWhenNotTheStandardOne() throws {
        #expect(try PostgresURL(parsing: "postgres://u@db/d").schema == "dispatcher")
        let url = try PostgresURL(parsing: "postgres://u@db/d?schema=tenant_a&sslmode=disable")
        #expect(url.schema == "tenant_a" && url.sslMode == .disable)
        #expect(url.redacted == "postgres://u@db:5432/d?sslmode=disable&schema=tenant_a")
        for bad in [
            "", "Tenant", "1st", "pg_mine", "information_schema", "a-b", "a.b", String(repeating: "a", count: 64),
        ] {
            #expect(throws: DispatcherError.self, "\(bad)") {
                try PostgresURL(parsing: "postgres://u@db/d?schema=\(bad)")
            }
        }
    }

    @Test func onlyTheStandardQualifierIsRewrittenAndQuoted() {
        let sql = "SELECT dispatcher.dispatcher_now_ms() FROM dispatcher.jobs JOIN x_dispatcher.y ON \"dispatcher\".z"
        #expect(PostgresSchema.rewrite(sql, into: "dispatcher") == sql)
        #expect(
            PostgresSchema.rewrite(sql, into: "user")
                == "SELECT \"user\".dispatcher_now_ms() FROM \"user\".jobs JOIN x_dispatcher.y ON \"dispatcher\".z")
    }
}
