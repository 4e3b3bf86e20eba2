/// One forward-only schema migration, embedded into the binary from `migrations/`.
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
    /// Every migration the binary carries, in order.
    ///
    /// SwiftPM embeds each file of `migrations/` (see Package.swift) as `PackageResources._NNN…`
    /// (it replaces the leading digit with `_`). A new file must be added here too; the test
    /// `embeddedMigrationsMatchTheFolder` fails until it is.
    static let all: [Migration] = [
        Migration(version: 1, name: "0001_create_jobs.sql", bytes: PackageResources._001_create_jobs_sql),
        Migration(version: 2, name: "0002_paused_queues.sql", bytes: PackageResources._002_paused_queues_sql),
    ]
}
