import Foundation
import Testing

@testable import Dispatcher

@Suite("migrations", .timeLimit(.minutes(3)))
struct MigrationTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("migrations")

    @Test func embeddedMigrationsMatchTheFolder() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(Migration.all.map(\.name) == files)
        for migration in Migration.all {
            let text = try String(contentsOf: Self.folder.appendingPathComponent(migration.name), encoding: .utf8)
            #expect(migration.sql == text, "\(migration.name) is embedded as it is on disk")
            #expect(migration.name.hasPrefix(String(format: "%04d_", migration.version)))
        }
        #expect(Migration.all.map(\.version) == Array(1...Migration.all.count))
    }

    @Test func migratingTwiceIsANoOpAndRecordsEachMigration() throws {
        let directory = try TemporaryDirectory()
        _ = try JobStore(path: directory.database)
        let store = try JobStore(path: directory.database)
        #expect(try store.connection.scalar("PRAGMA user_version") == Int64(Migrator().latestVersion))
        #expect(try store.connection.scalar("SELECT count(*) FROM schema_migrations") == Int64(Migration.all.count))
        #expect(try store.connection.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'jobs'") == 1)
    }

    @Test func theSchemaRejectsUnknownStates() throws {
        let directory = try TemporaryDirectory()
        let store = try JobStore(path: directory.database)
        #expect(throws: SQLiteError.self) {
            try store.connection.execute(
                "INSERT INTO jobs (method, state, run_at, created_at) VALUES ('m', 'sleeping', 0, 0)")
        }
    }
}
