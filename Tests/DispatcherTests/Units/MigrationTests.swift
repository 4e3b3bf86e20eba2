import Foundation
import Testing

@testable import Dispatcher

@Suite("migrations", .timeLimit(.minutes(3)))
struct MigrationTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("migrations")

    @Test(arguments: ["sqlite", "postgres"])
    func embeddedMigrationsMatchTheFolder(dialect: String) throws {
        let migrations = dialect == "sqlite" ? Migration.sqlite : Migration.postgres
        let folder = Self.folder.appendingPathComponent(dialect)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(migrations.map(\.name) == files)
        for migration in migrations {
            let text = try String(contentsOf: folder.appendingPathComponent(migration.name), encoding: .utf8)
            #expect(migration.sql == text, "\(migration.name) is embedded as it is on disk")
            #expect(migration.name.hasPrefix(String(format: "%04d_", migration.version)))
        }
        #expect(migrations.map(\.version) == Array(1...migrations.count))
    }

    @Test func migratingTwiceIsANoOpAndRecordsEachMigration() throws {
        let directory = try TemporaryDirectory()
        _ = try SQLiteJobStore(path: directory.database)
        let store = try SQLiteJobStore(path: directory.database)
        #expect(try store.connection.scalar("PRAGMA user_version") == Int64(SQLiteMigrator().latestVersion))
        #expect(try store.connection.scalar("SELECT count(*) FROM schema_migrations") == Int64(Migration.sqlite.count))
        #expect(try store.connection.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'jobs'") == 1)
    }

    /// The CHECKs guard the file against other tools; the store's own connections skip them.
    @Test func theSchemaRejectsUnknownStates() throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteJobStore(path: directory.database)
        #expect(try store.connection.scalar("PRAGMA ignore_check_constraints") == 1)
        let other = try SQLiteConnection(path: directory.database)
        #expect(throws: StoreError.self) {
            try other.execute("INSERT INTO jobs (method, state, run_at, created_at) VALUES ('m', 'sleeping', 0, 0)")
        }
    }

    @Test func postgresMigrationsSplitIntoSingleStatements() {
        let statements = Migration.postgres[0].statements
        #expect(statements.first?.hasPrefix("CREATE TABLE jobs") == true)
        #expect(statements.last?.contains("dispatcher_now_ms") == true)
        #expect(statements.allSatisfy { $0.filter { $0 == ";" }.count == 1 && $0.hasSuffix(";") })
        #expect(!statements.contains { $0.contains("--") })
    }
}
