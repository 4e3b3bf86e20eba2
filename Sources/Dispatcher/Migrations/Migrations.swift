/// One forward-only schema migration, embedded into the binary from `migrations/<dialect>/`.
struct Migration: Sendable {
    /// The number in the file name; migrations apply in ascending order.
    var version: Int
    /// The file name, recorded in `schema_migrations`.
    var name: String
    /// The SQL text, run in one transaction.
    var sql: String

    init(version: Int, name: String, bytes: [UInt8]) {
        self.version = version
        self.name = name
        self.sql = String(decoding: bytes, as: UTF8.self)
    }
}

extension Migration {
    /// Every SQLite migration the binary carries, in order (`migrations/sqlite/`).
    ///
    /// SwiftPM embeds each file of `migrations/` (see Package.swift) as `PackageResources._NNN…`
    /// (it replaces the leading digit with `_`, and uses only the file's name, so file names are
    /// unique across dialects). A new file must be added here too; the test
    /// `embeddedMigrationsMatchTheFolder` fails until it is.
    static let sqlite: [Migration] = [
        Migration(version: 1, name: "0001_create_jobs.sql", bytes: PackageResources._001_create_jobs_sql),
        Migration(version: 2, name: "0002_paused_queues.sql", bytes: PackageResources._002_paused_queues_sql),
        Migration(
            version: 3, name: "0003_job_counts_and_retention.sql",
            bytes: PackageResources._003_job_counts_and_retention_sql),
        Migration(
            version: 4, name: "0004_lease_statements_count_themselves.sql",
            bytes: PackageResources._004_lease_statements_count_themselves_sql),
        Migration(
            version: 5, name: "0005_finished_jobs_share_one_index.sql",
            bytes: PackageResources._005_finished_jobs_share_one_index_sql),
        Migration(version: 6, name: "0006_schedules.sql", bytes: PackageResources._006_schedules_sql),
        Migration(
            version: 7, name: "0007_enqueue_from_any_program.sql",
            bytes: PackageResources._007_enqueue_from_any_program_sql),
        Migration(version: 8, name: "0008_ordering_keys.sql", bytes: PackageResources._008_ordering_keys_sql),
        Migration(version: 9, name: "0009_queue_rates.sql", bytes: PackageResources._009_queue_rates_sql),
        Migration(version: 10, name: "0010_queue_slots.sql", bytes: PackageResources._010_queue_slots_sql),
        Migration(
            version: 11, name: "0011_ordering_follows_finished_at.sql",
            bytes: PackageResources._011_ordering_follows_finished_at_sql),
    ]

    /// Every PostgreSQL migration the binary carries, in order (`migrations/postgres/`).
    static let postgres: [Migration] = [
        Migration(
            version: 1, name: "0001_create_jobs_postgres.sql", bytes: PackageResources._001_create_jobs_postgres_sql),
        Migration(
            version: 2, name: "0002_paused_queues_postgres.sql",
            bytes: PackageResources._002_paused_queues_postgres_sql),
        Migration(
            version: 3, name: "0003_job_counts_and_retention_postgres.sql",
            bytes: PackageResources._003_job_counts_and_retention_postgres_sql),
        Migration(
            version: 4, name: "0004_schedules_postgres.sql", bytes: PackageResources._004_schedules_postgres_sql),
        Migration(
            version: 5, name: "0005_enqueue_function_postgres.sql",
            bytes: PackageResources._005_enqueue_function_postgres_sql),
        Migration(
            version: 6, name: "0006_own_schema_postgres.sql", bytes: PackageResources._006_own_schema_postgres_sql),
        Migration(
            version: 7, name: "0007_ordering_keys_postgres.sql",
            bytes: PackageResources._007_ordering_keys_postgres_sql),
        Migration(
            version: 8, name: "0008_queue_rates_postgres.sql", bytes: PackageResources._008_queue_rates_postgres_sql),
        Migration(
            version: 9, name: "0009_queue_slots_postgres.sql", bytes: PackageResources._009_queue_slots_postgres_sql),
        Migration(
            version: 10, name: "0010_ordering_follows_finished_at_postgres.sql",
            bytes: PackageResources._010_ordering_follows_finished_at_postgres_sql),
    ]

    /// The migration's statements, one per execution: PostgreSQL's extended protocol (all
    /// postgres-nio speaks) runs one statement at a time. Statements end with `;` at the end of
    /// a line, outside a `$$`-quoted body (a function's, whose own statements end in `;` too);
    /// comment lines are dropped.
    var statements: [String] {
        var statements = [String]()
        var current = [Substring]()
        var inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let text = line.drop(while: \.isWhitespace)
            if text.hasPrefix("--") || (text.isEmpty && current.isEmpty) { continue }
            current.append(line)
            // Each `$$` opens or closes a body.
            if line.split(separator: "$$", omittingEmptySubsequences: false).count % 2 == 0 { inBody.toggle() }
            if !inBody && text.last(where: { !$0.isWhitespace }) == ";" {
                statements.append(current.joined(separator: "\n"))
                current.removeAll()
            }
        }
        if current.contains(where: { $0.contains { !$0.isWhitespace } }) {
            statements.append(current.joined(separator: "\n"))
        }
        return statements
    }
}
