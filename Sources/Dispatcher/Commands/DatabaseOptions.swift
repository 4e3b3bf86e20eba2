import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `--db PATH|URL`, shared by every command.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: """
            SQLite database file, or postgres://USER[:PASS]@HOST[:PORT]/DB[?sslmode=…] \
            (default: $DISPATCHER_DB, else ./dispatcher.db).
            """)
    var db: String?

    /// The database: `--db`, else `DISPATCHER_DB`, else `./dispatcher.db`.
    var path: String {
        if let db { return db }
        if let environment = getenv("DISPATCHER_DB"), environment.pointee != 0 {
            return String(cString: environment)
        }
        return "./dispatcher.db"
    }

    /// Where the jobs live, parsed from `path`.
    func location() throws -> StoreLocation {
        try StoreLocation(parsing: path)
    }

    /// Opens (creating and migrating on first use) the job store, runs `body`, closes it.
    func withStore<T: Sendable>(_ body: (any OperatorStore) async throws -> T) async throws -> T {
        try await location().withOperatorStore(body)
    }
}
