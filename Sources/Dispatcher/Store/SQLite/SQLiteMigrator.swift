/// Brings a database's schema up to the version this binary knows, one migration per
/// transaction, and refuses a database written by a newer dispatcher.
///
/// The applied version lives in `PRAGMA user_version` (one read on the fast path, no table scan)
/// and each migration is also recorded in `schema_migrations` with the time it was applied.
struct SQLiteMigrator {
    var migrations: [Migration] = Migration.sqlite

    /// The version a fully migrated database reports.
    var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Applies every pending migration. Safe to run from several processes at once: each
    /// migration re-checks the version inside its own `BEGIN IMMEDIATE` transaction.
    func migrate(_ connection: SQLiteConnection, now: Int64 = WallClock.nowMilliseconds()) throws {
        let current = Int(try connection.scalar("PRAGMA user_version"))
        try checkNotNewer(current)
        guard current < latestVersion else { return }
        if connection.isReadOnly {
            throw DispatcherError(
                "database \(connection.path) is read-only and needs migrating to schema \(latestVersion) (it has \(current))"
            )
        }
        for migration in migrations where migration.version > current {
            try connection.writeTransaction {
                // Another process may have applied it while this one waited for the lock.
                let applied = Int(try connection.scalar("PRAGMA user_version"))
                try checkNotNewer(applied)
                guard applied < migration.version else { return }
                try connection.execute(
                    """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)
                    """)
                try connection.execute(migration.sql)
                let record = try connection.statement(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
                record.bind(migration.version, at: 1)
                record.bind(migration.name, at: 2)
                record.bind(now, at: 3)
                try record.run()
                try connection.execute("PRAGMA user_version = \(migration.version)")
            }
        }
    }

    private func checkNotNewer(_ version: Int) throws {
        if version > latestVersion {
            throw DispatcherError(
                "database schema version \(version) is newer than this dispatcher supports (\(latestVersion)); upgrade dispatcher"
            )
        }
    }
}
