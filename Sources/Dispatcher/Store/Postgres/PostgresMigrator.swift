import Logging
import PostgresNIO

/// Brings a PostgreSQL database's schema up to the version this binary knows and refuses one
/// written by a newer dispatcher.
///
/// Every process that opens the database runs this, in one transaction that first takes a
/// transaction-scoped advisory lock: concurrent openers take turns, so two daemons (or four
/// first commands) starting on a fresh database all succeed, the later ones finding the work
/// done. A transaction-scoped lock is released by the commit or rollback itself, so it holds on
/// a connection pooler's shared server connections too, where a session lock taken by one
/// statement may be unlocked by a statement running on another connection (and so never be).
/// The migrations apply in that same transaction, statement by statement: all or nothing.
///
/// Everything lives in the URL's schema (`dispatcher` unless `?schema=` names another): the
/// transaction creates it, moves an install that predates it out of `public`, and puts it alone
/// on its search_path (for this transaction only, so a pooler's server connection keeps nothing
/// of it), so the migrations' unqualified names create and find their objects there.
struct PostgresMigrator {
    var migrations: [Migration] = Migration.postgres
    /// An arbitrary, fixed key for `pg_advisory_xact_lock`.
    static let lockKey: Int64 = 0x6469_7370_6174_6368  // "dispatch"

    var latestVersion: Int { migrations.last?.version ?? 0 }

    func migrate(_ connection: PostgresConnection, schema: String, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            let name = PostgresSchema.quoted(schema)
            // One round trip, on every open: whether the schema exists, the search_path for this
            // transaction, and whether `public` holds an install to move.
            var bindings = PostgresBindings()
            bindings.append(name)
            let probe = PostgresQuery(
                unsafeSQL: """
                    SELECT to_regnamespace($1) IS NOT NULL, set_config('search_path', $1, true) IS NOT NULL,
                        \(schema == "public" ? "false" : PostgresLegacyInstall.candidate)
                    """, binds: bindings)
            guard let row = try await connection.query(probe, logger: logger).collect().first else {
                throw DispatcherError("PostgreSQL returned no row for the schema probe")
            }
            let (exists, _, legacy) = try row.decode((Bool, Bool, Bool).self)
            // Created only when missing: CREATE SCHEMA needs the database's CREATE privilege
            // even with IF NOT EXISTS, which a role given just the existing schema lacks.
            if !exists {
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(name)"), logger: logger)
            }
            if legacy {
                try await PostgresLegacyInstall.move(into: schema, on: connection, logger: logger)
            }
            try await migrateLocked(PostgresSession(connection: connection, schema: schema), logger: logger)
        }
    }

    private func migrateLocked(_ connection: PostgresSession, logger: Logger) async throws {
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
            for statement in migration.statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.query(
                """
                INSERT INTO schema_migrations (version, name, applied_at)
                VALUES (\(version), \(name), (extract(epoch FROM now()) * 1000)::bigint)
                """, logger: logger)
            logger.info(
                "migrated the database",
                metadata: ["version": "\(version)", "name": "\(name)", "schema": "\(connection.schema)"])
        }
    }
}
