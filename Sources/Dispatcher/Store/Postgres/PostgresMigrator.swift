import Logging
import PostgresNIO

/// Brings a PostgreSQL database's schema up to the version this binary knows and refuses one
/// written by a newer dispatcher.
///
/// Every process that opens the database runs this; a session-level advisory lock makes them
/// take turns, so two daemons starting on a fresh database both succeed (the second finds the
/// work done). Each migration applies in its own transaction, statement by statement.
struct PostgresMigrator {
    var migrations: [Migration] = Migration.postgres
    /// An arbitrary, fixed key for `pg_advisory_lock`.
    static let lockKey: Int64 = 0x6469_7370_6174_6368  // "dispatch"

    var latestVersion: Int { migrations.last?.version ?? 0 }

    func migrate(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
        do {
            try await migrateLocked(connection, logger: logger)
            try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
        } catch {
            // Closing the session releases the lock too; unlock here so an open one is reusable.
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
            throw error
        }
    }

    private func migrateLocked(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
            """, logger: logger)
        var current = 0
        for try await version in try await connection.query(
            "SELECT COALESCE(max(version), 0) FROM schema_migrations", logger: logger
        ).decode(Int64.self) {
            current = Int(version)
        }
        if current > latestVersion {
            throw DispatcherError(
                "database schema version \(current) is newer than this dispatcher supports (\(latestVersion)); upgrade dispatcher"
            )
        }
        for migration in migrations where migration.version > current {
            let version = Int64(migration.version)
            let name = migration.name
            try await connection.withTransaction(logger: logger) { connection in
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    """
                    INSERT INTO schema_migrations (version, name, applied_at)
                    VALUES (\(version), \(name), (extract(epoch FROM now()) * 1000)::bigint)
                    """, logger: logger)
            }
            logger.info("migrated the database", metadata: ["version": "\(version)", "name": "\(name)"])
        }
    }
}
