import Logging
import PostgresNIO

/// An install made before the dispatcher had a schema of its own: its tables and functions in
/// `public`. The migrator moves it, once, into the URL's schema (migration 6 then makes its
/// functions independent of the caller's search_path).
///
/// It is recognised by its `schema_migrations` table alone, with the dispatcher's columns and
/// first migration: an application's own `public.jobs`, or another tool's `schema_migrations`
/// (Rails and dbmate keep one, with a text version), is never read beyond that or touched. Only
/// the objects the recorded migrations created move, so an application table that happens to
/// share a later migration's name stays where it is.
enum PostgresLegacyInstall {
    /// The tables each migration created, by version: indexes, constraints, triggers and the
    /// identity sequence move with their table.
    static let tables: [(version: Int64, name: String)] = [
        (1, "jobs"), (2, "paused_queues"), (3, "job_counts"), (3, "maintenance_leases"), (4, "schedules"),
    ]
    /// The functions each migration created in `public`, by version.
    static let functions: [(version: Int64, signature: String)] = [
        (1, "dispatcher_now_ms()"), (3, "dispatcher_count_slot()"), (3, "dispatcher_count_inserted()"),
        (3, "dispatcher_count_deleted()"), (3, "dispatcher_count_updated()"), (5, "dispatcher_notify_inserted()"),
    ]
    /// Migration 5 created `enqueue` in schema `dispatcher` already; it moves only into another.
    static let enqueue = "enqueue(text, jsonb, text, text, integer, timestamp with time zone, integer, interval)"

    /// True when the schema (quoted, as `$1`) has no `schema_migrations` of its own yet and
    /// `public` holds one with the dispatcher's columns: an install to `move`, if its first
    /// migration is ours too.
    static let candidate = """
        (to_regclass($1 || '.schema_migrations') IS NULL
            AND (SELECT count(*) FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = 'schema_migrations'
                   AND (column_name, data_type) IN (('version', 'bigint'), ('name', 'text'), ('applied_at', 'bigint'))) = 3)
        """

    /// Moves a legacy install (`candidate` held) into `schema`, inside the migrator's
    /// transaction; does nothing when `public.schema_migrations` is not the dispatcher's.
    static func move(into schema: String, on connection: PostgresConnection, logger: Logger) async throws {
        let target = PostgresSchema.quoted(schema)
        let first = Migration.postgres[0].name
        let versionQuery: PostgresQuery = """
            SELECT max(version) FROM public.schema_migrations
            WHERE EXISTS (SELECT 1 FROM public.schema_migrations WHERE version = 1 AND name = \(first))
            """
        guard
            let version = try await connection.query(versionQuery, logger: logger).collect().first?.decode(Int64?.self)
        else { return }
        var statements = [String]()
        for table in tables where table.version <= version {
            statements.append("ALTER TABLE public.\(table.name) SET SCHEMA \(target)")
        }
        statements.append("ALTER TABLE public.schema_migrations SET SCHEMA \(target)")
        for function in functions where function.version <= version {
            statements.append("ALTER FUNCTION public.\(function.signature) SET SCHEMA \(target)")
        }
        if version >= 5 && schema != PostgresURL.standardSchema {
            statements.append("ALTER FUNCTION \(PostgresURL.standardSchema).\(enqueue) SET SCHEMA \(target)")
        }
        for statement in statements {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        logger.notice(
            "moved the dispatcher's tables and functions out of schema public",
            metadata: ["schema": "\(schema)", "version": "\(version)"])
    }
}
