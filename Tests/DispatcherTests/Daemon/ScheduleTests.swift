import Foundation
import PostgresNIO
import Testing

@testable import Dispatcher

/// Scheduled jobs end to end: several daemons on one database, each slot one job, catch-up
/// after every daemon was down, `dispatcher schedules`, the dashboard page, and bad schedules.
///
/// The schedules' queue is paused, so no call is ever made (the upstream is a closed port):
/// pausing a queue pauses its scheduled jobs' delivery, and they are still enqueued.
@Suite("scheduled jobs", .serialized)
struct ScheduleTests {
    static let closedUpstream = "http://127.0.0.1:1/"

    static func config(
        _ schedules: String, in directory: TemporaryDirectory, name: String = "config.json"
    ) throws
        -> String
    {
        let text = """
            {"queues": [{"name": "timed", "upstream": "\(closedUpstream)", "workers": 1}],
             "schedules": [\(schedules)]}
            """
        try text.write(toFile: directory.path(name), atomically: true, encoding: .utf8)
        return name
    }

    /// Each job's slot, by schedule, read from its idempotency key.
    static func slots(_ jobs: [Job]) throws -> [String: [Int64]] {
        var slots = [String: [Int64]]()
        for job in jobs {
            let key = try #require(job.idempotencyKey)
            let parts = key.split(separator: ":", maxSplits: 2)
            #expect(parts.count == 3 && parts[0] == "schedule", "\(key)")
            slots[String(parts[1]), default: []].append(try Timestamp.parse(String(parts[2])))
        }
        return slots.mapValues { $0.sorted() }
    }

    static func pause(_ database: TestDatabase) async throws {
        let result = try await DispatcherProcess.run(
            ["pause", "timed", "--db", database.argument], in: database.directory)
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// Runs SQL on the test database directly (to stand for a gap no daemon saw); on PostgreSQL
    /// its table names are the dispatcher schema's.
    static func execute(_ sql: String, on database: TestDatabase) async throws {
        switch try database.location {
        case .sqlite(let path):
            try SQLiteJobStore(path: path).connection.execute(sql)
        case .postgres(let url):
            var direct = url
            direct.pooling = .session
            let connection = try await PostgresStore.connect(url: direct, logger: StoreLocation.silent)
            try await connection.query(
                PostgresQuery(unsafeSQL: PostgresSchema.rewrite(sql.qualifiedForTests, into: url.schema)),
                logger: StoreLocation.silent)
            try? await connection.close()
        }
    }

    static func daemonArguments(_ database: TestDatabase, config: String, logLevel: String = "warning") -> [String] {
        ["run", "--db", database.argument, "--config", config, "--log-level", logLevel]
            + (database.listenArgument.map { ["--listen-db", $0] } ?? [])
    }

    @Test(arguments: StoreKind.available)
    func aFleetEnqueuesEverySlotOnceThroughARestart(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let directory = database.directory
        try await Self.pause(database)
        let config = try Self.config(
            #"{"name": "tick", "cron": "@every 1s", "queue": "timed", "method": "tick.run", "params": {"n": 1}}"#,
            in: directory)
        let fleet = kind == .sqlite ? 2 : 3
        var daemons = try (0..<fleet).map { _ in
            try DispatcherProcess.start(Self.daemonArguments(database, config: config), in: directory)
        }
        defer { for daemon in daemons where daemon.isRunning { daemon.signal(SIGKILL) } }
        try await Task.sleep(for: .seconds(3))
        // One daemon restarts while the others go on.
        daemons[0].signal(SIGTERM)
        let stopped = try await daemons[0].wait(timeout: .seconds(30))
        #expect(stopped.status == 0, "\(stopped.stderr)")
        daemons[0] = try DispatcherProcess.start(Self.daemonArguments(database, config: config), in: directory)
        try await Task.sleep(for: .seconds(5))
        for daemon in daemons { daemon.signal(SIGTERM) }
        for daemon in daemons {
            let result = try await daemon.wait(timeout: .seconds(30))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(!result.stderr.contains(" error dispatcher"), "\(result.stderr)")
        }

        let jobs = try await database.jobs()
        let slots = try #require(try Self.slots(jobs)["tick"])
        // One job per slot, and no slot skipped while any daemon ran (one always did).
        #expect(Set(slots).count == slots.count, "a slot has two jobs: \(slots)")
        #expect(slots.count >= 6, "\(slots.count) slots in ~8 s")
        #expect(slots.allSatisfy { $0 % 1000 == 0 })
        let gaps = zip(slots, slots.dropFirst()).filter { $1 - $0 != 1000 }
        #expect(gaps.isEmpty, "slots skipped between \(gaps)")
        // Each job is written at its slot, not a sleep later (the median, so one stall of a
        // loaded machine does not decide).
        let lateness = jobs.map { $0.createdAt - $0.runAt }.sorted()
        #expect(lateness[lateness.count / 2] < 500, "created this long after their slots: \(lateness)")
        // The paused queue got its jobs, and delivered none.
        #expect(jobs.allSatisfy { $0.state == .pending && $0.attempts == 0 && $0.queue == "timed" })
        #expect(jobs.allSatisfy { $0.params == #"{"n": 1}"# && $0.method == "tick.run" && $0.runAt % 1000 == 0 })

        // `schedules --json` reads the same from the store.
        let listed = try await DispatcherProcess.run(
            ["schedules", "--json", "--db", database.argument], in: directory)
        #expect(listed.status == 0, "\(listed.stderr)")
        let row = try jsonObject(try #require(listed.lines.first))
        let last = try #require(slots.last)
        let lastJob = try #require(jobs.first { $0.idempotencyKey == "schedule:tick:\(Timestamp.format(last))" })
        #expect(row["name"] as? String == "tick" && row["cron"] as? String == "@every 1s")
        #expect((row["last_slot"] as? NSNumber)?.int64Value == last)
        #expect((row["last_job_id"] as? NSNumber)?.int64Value == lastJob.id)
        #expect(row["last_job_state"] as? String == "pending")
        let next = try #require((row["next_slot"] as? NSNumber)?.int64Value)
        #expect(next > last && next % 1000 == 0)
    }

    @Test(arguments: StoreKind.withPoolers)
    func catchUpAfterEveryDaemonWasDown(kind: StoreKind) async throws {
        let database = try await TestDatabase.make(kind)
        let directory = database.directory
        try await Self.pause(database)
        let modes = ["latest", "none", "all"]
        let config = try Self.config(
            modes.map {
                #"{"name": "gap-\#($0)", "cron": "* * * * *", "queue": "timed", "method": "m", "catch_up": "\#($0)"}"#
            }.joined(separator: ", "), in: directory)
        // A first run registers the schedules; then every daemon is "down" for ten minutes:
        // their rows say so, and no job exists.
        let first = try DispatcherProcess.start(Self.daemonArguments(database, config: config), in: directory)
        let listed = try await waitForSchedules(modes.count, database)
        #expect(listed == modes.count)
        first.signal(SIGTERM)
        #expect(try await first.wait(timeout: .seconds(30)).status == 0)
        let minute: Int64 = 60_000
        let covered = (WallClock.nowMilliseconds() / minute) * minute - 10 * minute
        try await Self.execute("UPDATE schedules SET covered_until = \(covered)", on: database)
        try await Self.execute("DELETE FROM jobs", on: database)

        let second = try DispatcherProcess.start(Self.daemonArguments(database, config: config), in: directory)
        defer { if second.isRunning { second.signal(SIGKILL) } }
        try await waitUntil(timeout: .seconds(20)) { ((try? await database.jobs()) ?? []).count >= 12 }
        second.signal(SIGTERM)
        let result = try await second.wait(timeout: .seconds(30))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("missed slots skipped"), "\(result.stderr)")

        let slots = try Self.slots(try await database.jobs())
        // The newest slot at the restart: on time, so every mode enqueues it.
        let newest = try #require(slots["gap-none"]?.last)
        #expect(slots["gap-none"] == [newest])
        #expect(slots["gap-latest"] == [newest - minute, newest])
        #expect(slots["gap-all"] == Array(stride(from: covered + minute, through: newest, by: Int(minute))))
    }

    /// Waits until the store lists `count` schedules; returns how many it lists.
    private func waitForSchedules(_ count: Int, _ database: TestDatabase) async throws -> Int {
        var listed = 0
        try await waitUntil(timeout: .seconds(20)) {
            listed = (try? await database.location.withOperatorStore { try await $0.schedules() })?.count ?? 0
            return listed == count
        }
        return listed
    }

    @Test func aConfigFileIsCheckedAndListedBeforeDeploying() async throws {
        let directory = try TemporaryDirectory()
        let config = try Self.config(
            #"""
            {"name": "nightly", "cron": "0 3 * * *", "timezone": "Europe/Berlin", "method": "report.run",
             "params": [1, 2], "max_attempts": 5, "timeout": "60s", "priority": 3},
            {"name": "often", "cron": "*/15 9-17 * * MON-FRI", "timezone": "America/New_York", "method": "m"},
            {"name": "tick", "cron": "@every 30s", "method": "m", "catch_up": "all"}
            """#, in: directory)
        let before = WallClock.nowMilliseconds()
        let result = try await DispatcherProcess.run(["schedules", "--config", config, "--json"], in: directory)
        let after = WallClock.nowMilliseconds()
        #expect(result.status == 0, "\(result.stderr)")
        // Only a store named on purpose is read.
        #expect(!FileManager.default.fileExists(atPath: directory.path("dispatcher.db")))
        let rows = try result.lines.map(jsonObject)
        #expect(rows.map { $0["name"] as? String } == ["nightly", "often", "tick"])
        for (row, (cron, zone)) in zip(
            rows,
            [("0 3 * * *", "Europe/Berlin"), ("*/15 9-17 * * MON-FRI", "America/New_York"), ("@every 30s", "UTC")])
        {
            let expression = try CronExpression(parsing: cron)
            let zone = try ScheduleZone(identifier: zone)
            let next = try #require((row["next_slot"] as? NSNumber)?.int64Value)
            let earliest = try #require(zone.nextSlot(of: expression, after: before))
            let latest = try #require(zone.nextSlot(of: expression, after: after))
            #expect(next == earliest || next == latest, "\(row)")
            #expect(row["last_slot"] is NSNull && row["last_job_id"] is NSNull && row["covered_until"] is NSNull)
        }
        let table = try await DispatcherProcess.run(["schedules", "--config", config], in: directory)
        #expect(table.lines.first?.hasPrefix("NAME") == true && table.lines.count == 4, "\(table.stdout)")
    }

    @Test func theDashboardListsSchedules() async throws {
        let directory = try TemporaryDirectory()
        let database = TestDatabase(kind: .sqlite, directory: directory, argument: directory.database)
        try await Self.pause(database)
        let config = try Self.config(
            #"{"name": "tick<b>", "cron": "@every 1s", "queue": "timed", "method": "m"}"#, in: directory)
        let refused = try await DispatcherProcess.run(
            Self.daemonArguments(database, config: config), in: directory, timeout: .seconds(20))
        #expect(refused.status == 1 && refused.stderr.contains("schedule 'tick<b>'"), "\(refused.stderr)")
        _ = try Self.config(#"{"name": "tick", "cron": "@every 1s", "queue": "timed", "method": "m"}"#, in: directory)
        let daemon = try DispatcherProcess.start(
            Self.daemonArguments(database, config: config, logLevel: "info") + ["--admin", "127.0.0.1:0"],
            in: directory)
        defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
        let admin = try await OperatingTests.adminPort(of: daemon)
        let rows = try Rows(directory.database)
        try await waitUntil(timeout: .seconds(20)) { ((try? rows.count()) ?? 0) >= 4 }
        // One daemon alone writes each job at its slot, not a sleep later.
        let lateness = try rows.all().map { $0.createdAt - $0.runAt }.sorted()
        #expect(lateness[lateness.count / 2] < 300, "created this long after their slots: \(lateness)")
        let page = try HTTPClient.request(port: admin, "GET", "/schedules")
        #expect(page.status == 200)
        #expect(page.body.contains("data-schedule=\"tick\"") && page.body.contains("@every 1s"), "\(page.body)")
        #expect(page.body.contains(">paused<"), "the paused queue is marked")
        #expect(page.body.contains("href=\"/jobs/"), "the last job is linked")
        let overview = try HTTPClient.request(port: admin, "GET", "/")
        #expect(overview.body.contains("href=\"/schedules\""))
        daemon.signal(SIGTERM)
        #expect(try await daemon.wait(timeout: .seconds(30)).status == 0)
    }

    @Test func badSchedulesFailAtStartWithOneLineNamingThem() async throws {
        let directory = try TemporaryDirectory()
        #expect(try await DispatcherProcess.run(["enqueue", "--method", "m"], in: directory).status == 0)
        func schedule(_ members: String) -> String {
            #"{"name": "nightly", "method": "m", \#(members)}"#
        }
        let cases: [(schedules: String, says: String)] = [
            (schedule(#""cron": "60 * * * *""#), "schedule 'nightly' (schedules[0]): cron minute 60 is out of range"),
            (schedule(#""cron": "* 24 * * *""#), "out of range"),
            (schedule(#""cron": "* * * *""#), "5 fields"),
            (schedule(#""cron": "* * * * * *""#), "5 fields"),
            (schedule(#""cron": "@every 0s""#), "at least 1s"),
            (schedule(#""cron": "@every 500ms""#), "at least 1s"),
            (schedule(#""cron": "@daily", "timezone": "Mars/Olympus_Mons""#), "unknown time zone 'Mars/Olympus_Mons'"),
            (schedule(#""cron": "@daily", "params": 5"#), "params must be a JSON object or array"),
            (schedule(#""cron": "@daily", "params": "text""#), "params must be a JSON object or array"),
            (schedule(#""cron": "@daily", "catch_up": "some""#), "catch_up must be one of"),
            (schedule(#""cron": "@daily", "max_attempts": 0"#), "max attempts"),
            (schedule(#""cron": "@daily", "timeout": "0s""#), "timeout"),
            (schedule(#""cron": "@daily", "cronn": "x""#), "schedules[0].cronn: unknown key"),
            (schedule(#""timezone": "UTC""#), "schedule 'nightly' (schedules[0]): missing 'cron'"),
            (#"{"cron": "@daily", "method": "m"}"#, "schedules[0]: missing 'name'"),
            (#"{"name": "a:b", "cron": "@daily", "method": "m"}"#, "schedule 'a:b'"),
            (
                schedule(#""cron": "@daily""#) + ", " + schedule(#""cron": "@hourly""#),
                "schedule 'nightly' (schedules[1]): the name is already used by schedules[0]"
            ),
        ]
        for (index, (schedules, says)) in cases.enumerated() {
            let config = try Self.config(schedules, in: directory, name: "bad-\(index).json")
            for arguments in [["run", "--config", config, "--db", "fresh.db"], ["schedules", "--config", config]] {
                let result = try await DispatcherProcess.run(arguments, in: directory, timeout: .seconds(20))
                #expect(result.status == 1, "\(schedules): \(result.status) \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(schedules): \(result.stderr)")
                #expect(result.stderr.contains(says), "\(schedules): \(result.stderr)")
                #expect(!FileManager.default.fileExists(atPath: directory.path("fresh.db")))
            }
        }
        let jobs = try Rows(directory.database).all()
        #expect(jobs.count == 1 && jobs[0].state == .pending && jobs[0].attempts == 0)
    }
}
