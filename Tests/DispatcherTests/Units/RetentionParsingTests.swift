import Foundation
import Testing

@testable import Dispatcher

@Suite("retention settings and the migrations that keep the counts", .timeLimit(.minutes(3)))
struct RetentionParsingTests {
    @Test func retentionsParseDurationsAndKeepForZeroOrForever() throws {
        #expect(try RetentionPolicy.parse("7d", what: "x") == .seconds(7 * 86_400))
        #expect(try RetentionPolicy.parse("90s", what: "x") == .seconds(90))
        #expect(try RetentionPolicy.parse("15m", what: "x") == .seconds(900))
        #expect(try RetentionPolicy.parse("12h", what: "x") == .seconds(12 * 3600))
        #expect(try RetentionPolicy.parse("0", what: "x") == nil)
        #expect(try RetentionPolicy.parse("0s", what: "x") == nil)
        #expect(try RetentionPolicy.parse("forever", what: "x") == nil)
        #expect(throws: DispatcherError.self) { try RetentionPolicy.parse("-1d", what: "x") }
        #expect(throws: DispatcherError.self) { try RetentionPolicy.parse("a week", what: "x") }
        #expect(RetentionPolicy().description == "succeeded 7d, failed 30d, cancelled 7d")
    }

    @Test func flagsSetTheDefaultsAndTheConfigFileOverridesThemPerQueue() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("dispatcher.json")
        try Data(
            """
            {"retain_failed": "forever", "prune_interval": "5s", "queues": [
              {"name": "a", "upstream": "http://127.0.0.1:1/"},
              {"name": "b", "upstream": "http://127.0.0.1:1/", "retain_succeeded": "1h", "retain_cancelled": "0"}]}
            """.utf8
        ).write(to: URL(fileURLWithPath: path))
        let command = try RunCommand.parse(["--config", path, "--retain-succeeded", "2d", "--db", directory.database])
        let configuration = try command.makeConfiguration()
        #expect(configuration.pruner.interval == .seconds(5))
        let rules = configuration.retentionRules
        #expect(rules.horizon(queue: "a", state: .succeeded) == .seconds(2 * 86_400))
        #expect(rules.horizon(queue: "a", state: .failed) == nil)
        #expect(rules.horizon(queue: "a", state: .cancelled) == .seconds(7 * 86_400))
        #expect(rules.horizon(queue: "unserved", state: .succeeded) == .seconds(2 * 86_400))
        #expect(rules.horizon(queue: "b", state: .succeeded) == .seconds(3600))
        #expect(rules.horizon(queue: "b", state: .failed) == nil)
        #expect(rules.horizon(queue: "b", state: .cancelled) == nil)
        #expect(rules.horizon(queue: "b", state: .pending) == nil)

        let defaults = try RunCommand.parse(["--upstream", "http://127.0.0.1:1/"]).makeConfiguration()
        #expect(defaults.retention == RetentionPolicy())
        #expect(defaults.pruner.interval == .seconds(60))
        #expect(throws: DispatcherError.self) {
            try RunCommand.parse(["--upstream", "http://127.0.0.1:1/", "--retain-failed", "soon"]).makeConfiguration()
        }
    }

    @Test func functionBodiesStayInOneStatement() {
        let migration = Migration(
            version: 9, name: "0009_x.sql",
            bytes: Array(
                """
                CREATE TABLE t (a INT);
                -- a comment
                CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO t VALUES (1);
                    RETURN NULL;
                END
                $$;
                CREATE FUNCTION g() RETURNS INT LANGUAGE sql AS $$ SELECT 1 $$;
                """.utf8))
        let statements = migration.statements
        #expect(statements.count == 3)
        #expect(statements[1].hasPrefix("CREATE FUNCTION f()") && statements[1].hasSuffix("$$;"))
        #expect(statements[1].contains("RETURN NULL;"))
        #expect(statements[2].hasPrefix("CREATE FUNCTION g()"))
    }

    @Test func theCountsMigrationCountsTheJobsAlreadyThere() throws {
        let directory = try TemporaryDirectory()
        let connection = try SQLiteConnection(path: directory.database, options: .init(synchronous: .normal))
        try SQLiteMigrator(migrations: Array(Migration.sqlite.prefix(2))).migrate(connection)
        try connection.execute(
            """
            INSERT INTO jobs (queue, method, state, attempts, run_at, created_at, finished_at) VALUES
                ('a', 'm', 'pending', 0, 0, 0, NULL), ('a', 'm', 'pending', 2, 0, 0, NULL),
                ('a', 'm', 'succeeded', 1, 0, 0, 5), ('b', 'm', 'failed', 3, 0, 0, 5), ('b', 'm', 'failed', 3, 0, 0, 6)
            """)
        connection.close()
        let store = try SQLiteJobStore(path: directory.database)
        let stats = try store.stats(now: 1)
        #expect(stats.map(\.queue) == ["a", "b"])
        #expect(stats[0].counts == [.pending: 2, .succeeded: 1] && stats[0].retrying == 1)
        #expect(stats[0].oldestDueRunAt == 0)
        #expect(stats[1].counts == [.failed: 2] && stats[1].retrying == 0)
    }

    /// Migration 0004: the daemon's claims and completions count themselves, and the trigger still
    /// counts everyone else — here a plain connection, as the sqlite3 shell or an older
    /// dispatcher would write, moving the claimed jobs out of `running` by hand.
    @Test func writesOutsideTheLeaseStatementsAreStillCountedByTheTrigger() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteJobStore(path: directory.database)
        _ = try store.enqueue((0..<5).map { _ in NewJob(queue: "q", method: "m", params: nil, runAt: 0) }, now: 0)
        let claimed = try store.claim(queue: "q", limit: 3, owner: "o", now: 1, defaultTimeout: 1000, leaseMargin: 0)
            .jobs
        #expect(claimed.count == 3)
        #expect(store.connection.lastInsertRowID != JobCountMoves.marker)
        #expect(try store.stats(now: 1).first?.counts == [.pending: 2, .running: 3])

        let other = try SQLiteConnection(path: directory.database, options: .init(synchronous: .normal))
        try other.execute("UPDATE jobs SET state = 'pending', lease_owner = NULL WHERE id = \(claimed[0].id)")
        try other.execute("UPDATE jobs SET state = 'failed', lease_owner = NULL WHERE id = \(claimed[1].id)")
        other.close()
        let counts = try store.stats(now: 1).first
        #expect(counts?.counts == [.pending: 3, .running: 1, .failed: 1])
        #expect(counts?.retrying == 1)
    }
    /// Enqueue counts its own inserts with the connection's triggers off, and puts them back on
    /// whether it commits or fails: a later write on the same connection is counted by the
    /// trigger, and a failed enqueue leaves the counts as they were.
    @Test func enqueueCountsItselfAndPutsTheTriggersBackOn() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteJobStore(path: directory.database)
        let results = try store.enqueue(
            [
                NewJob(queue: "q", method: "m", params: nil, runAt: 0),
                NewJob(queue: "q", method: "m", params: nil, idempotencyKey: "k", runAt: 0),
                NewJob(queue: "r", method: "m", params: nil, runAt: 0),
                NewJob(queue: "q", method: "m", params: nil, idempotencyKey: "k", runAt: 0),
            ], now: 0)
        #expect(results.map(\.created) == [true, true, true, false])
        #expect(try store.stats(now: 1).map(\.counts) == [[.pending: 2], [.pending: 1]])

        // The same connection, triggers back on: its raw insert is counted by the trigger.
        try store.connection.execute("INSERT INTO jobs (queue, method, run_at, created_at) VALUES ('q', 'm', 0, 0)")
        #expect(try store.stats(now: 1).first?.counts == [.pending: 3])

        // A TEMP trigger still runs with the main schema's triggers off: it makes the enqueue
        // fail after its first row, which must roll back the rows and leave the triggers on.
        try store.connection.execute(
            """
            CREATE TEMP TRIGGER refuse BEFORE INSERT ON jobs WHEN new.method = 'refused'
            BEGIN SELECT RAISE(ABORT, 'refused'); END
            """)
        #expect(throws: (any Error).self) {
            try store.enqueue(
                [
                    NewJob(queue: "q", method: "m", params: nil, runAt: 0),
                    NewJob(queue: "q", method: "refused", params: nil, idempotencyKey: "x", runAt: 0),
                ], now: 0)
        }
        #expect(try store.stats(now: 1).first?.counts == [.pending: 3])
        try store.connection.execute("INSERT INTO jobs (queue, method, run_at, created_at) VALUES ('q', 'm', 0, 0)")
        #expect(try store.stats(now: 1).first?.counts == [.pending: 4])
        #expect(try store.connection.scalar("SELECT count(*) FROM jobs") == 5)
    }
}
