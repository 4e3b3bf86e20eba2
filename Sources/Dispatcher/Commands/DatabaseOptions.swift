import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `--db PATH`, shared by every command.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "SQLite database file (default: $DISPATCHER_DB, else ./dispatcher.db).")
    var db: String?

    /// The database path: `--db`, else `DISPATCHER_DB`, else `./dispatcher.db`.
    var path: String {
        if let db { return db }
        if let environment = getenv("DISPATCHER_DB"), environment.pointee != 0 {
            return String(cString: environment)
        }
        return "./dispatcher.db"
    }

    /// Opens (creating and migrating on first use) the job store.
    func openStore(synchronous: SQLiteConnection.Synchronous = .full) throws -> JobStore {
        try JobStore(path: path, synchronous: synchronous)
    }
}
