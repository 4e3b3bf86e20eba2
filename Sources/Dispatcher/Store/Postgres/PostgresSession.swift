import Logging
import PostgresNIO

/// One connection as the store's SQL sees it: statements written against schema `dispatcher`
/// run against the schema the URL names (`?schema=`).
///
/// Every name the store's SQL uses is qualified (`dispatcher.jobs`, `dispatcher.dispatcher_now_ms()`)
/// rather than found through `search_path`: a session setting is exactly what a transaction
/// pooler cannot keep, and an unqualified `jobs` would find an application's own table of that
/// name first. The schema is fixed per store, so the rewrite is a text substitution done only
/// when the URL names another schema; a statement that escaped it would fail loudly on a missing
/// `dispatcher.…` relation, never touch another schema's table.
struct PostgresSession: Sendable {
    let connection: PostgresConnection
    /// The schema the URL names.
    let schema: String

    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await connection.query(PostgresSchema.rewrite(query, into: schema), logger: logger)
    }

    /// Runs `query` and returns every row.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }

    /// Runs `body` in one transaction, committing when it returns.
    func withTransaction<T: Sendable>(
        logger: Logger, _ body: (PostgresSession) async throws -> T
    ) async throws -> T {
        try await connection.withTransaction(logger: logger) { _ in try await body(self) }
    }
}

/// Where the dispatcher's objects live in a PostgreSQL database, and the one rewrite of SQL text
/// written against the standard schema into another.
enum PostgresSchema {
    /// `sql` with each `dispatcher.` qualification (one not part of a longer name) naming
    /// `schema` instead. Unchanged for the standard schema.
    static func rewrite(_ sql: String, into schema: String) -> String {
        guard schema != PostgresURL.standardSchema else { return sql }
        let qualifier = Array("\(PostgresURL.standardSchema).".utf8)
        let bytes = Array(sql.utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + 64)
        var index = 0
        while index < bytes.count {
            if bytes[index] == qualifier[0], index + qualifier.count <= bytes.count,
                bytes[index..<index + qualifier.count].elementsEqual(qualifier),
                index == 0 || !isNameByte(bytes[index - 1])
            {
                out.append(contentsOf: quoted(schema).utf8)
                out.append(UInt8(ascii: "."))
                index += qualifier.count
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `schema` as an SQL name: quoted, so a valid name that is also a keyword (`user`) works.
    /// `PostgresURL` admits only lower-case letters, digits and `_`, so nothing needs escaping
    /// and the quoted name means what the unquoted one does in any client.
    static func quoted(_ schema: String) -> String { "\"\(schema)\"" }

    static func rewrite(_ query: PostgresQuery, into schema: String) -> PostgresQuery {
        guard schema != PostgresURL.standardSchema else { return query }
        var query = query
        query.sql = rewrite(query.sql, into: schema)
        return query
    }

    /// A byte that continues an SQL name (or a quoted one), so `x_dispatcher.` is left alone.
    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "$"), UInt8(ascii: "\""):
            true
        default: byte >= 0x80
        }
    }
}
