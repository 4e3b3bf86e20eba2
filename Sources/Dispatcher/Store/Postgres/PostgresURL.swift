/// A `postgres://USER[:PASS]@HOST[:PORT]/DB[?sslmode=disable|prefer|require][&pooling=…][&schema=NAME]`
/// URL (also `postgresql://`), as `--db`, `DISPATCHER_DB` and `--listen-db` take it.
struct PostgresURL: Sendable, Equatable {
    enum SSLMode: String, Sendable {
        case disable, prefer, require
    }

    /// What stands between the dispatcher and the server, as `?pooling=` says (README, "Behind a
    /// connection pooler"). A pooler's mode cannot be asked for over an ordinary connection, so
    /// it is stated, not guessed.
    enum Pooling: String, Sendable {
        /// A direct connection (the default).
        case none
        /// A pooler in session mode (pgbouncer `pool_mode = session`): one server connection per
        /// client connection, so everything works as on a direct one.
        case session
        /// A pooler in transaction mode: consecutive transactions of one client connection may
        /// run on different server connections. No named prepared statements, no `LISTEN`.
        case transaction
    }

    var user: String
    var password: String?
    var host: String
    var port: Int = 5432
    var database: String
    var sslMode: SSLMode = .prefer
    var pooling: Pooling = .none
    /// The schema every dispatcher object lives in (`?schema=`), so none of them shares a name
    /// with an application's own tables in the same database.
    var schema: String = PostgresURL.standardSchema

    /// The schema when the URL names none; the SQL in this module is written against it.
    static let standardSchema = "dispatcher"

    /// Parses `text`; every mistake is reported in one line that never repeats the password.
    init(parsing text: String) throws {
        guard let schemeEnd = text.firstRange(of: "://") else { throw Self.invalid("missing postgres://") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw Self.invalid("the scheme must be postgres:// or postgresql://")
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let at = rest.lastIndex(of: "@") else {
            throw Self.invalid("missing USER@ before the host")
        }
        let credentials = rest[..<at]
        var location = rest[rest.index(after: at)...]
        if let colon = credentials.firstIndex(of: ":") {
            user = try Self.decode(credentials[..<colon], what: "user")
            password = try Self.decode(credentials[credentials.index(after: colon)...], what: "password")
        } else {
            user = try Self.decode(credentials, what: "user")
        }
        guard !user.isEmpty else { throw Self.invalid("the user is empty") }
        guard let slash = location.firstIndex(of: "/") else { throw Self.invalid("missing /DATABASE after the host") }
        database = try Self.decode(location[location.index(after: slash)...], what: "database")
        guard !database.isEmpty else { throw Self.invalid("the database name is empty") }
        location = location[..<slash]
        if location.hasPrefix("[") {
            // [IPv6]:port
            guard let close = location.firstIndex(of: "]") else { throw Self.invalid("unclosed [ in the host") }
            host = String(location[location.index(after: location.startIndex)..<close])
            let after = location[location.index(after: close)...]
            if after.hasPrefix(":") { port = try Self.port(after.dropFirst()) }
        } else if let colon = location.lastIndex(of: ":") {
            host = String(location[..<colon])
            port = try Self.port(location[location.index(after: colon)...])
        } else {
            host = String(location)
        }
        guard !host.isEmpty else { throw Self.invalid("the host is empty") }
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            let value = parts.count == 2 ? String(parts[1]) : ""
            switch parts.count == 2 ? parts[0] : "" {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw Self.invalid("sslmode must be disable, prefer or require, not '\(value)'")
                }
                sslMode = mode
            case "pooling":
                guard let pooling = Pooling(rawValue: value) else {
                    throw Self.invalid("pooling must be none, session or transaction, not '\(value)'")
                }
                self.pooling = pooling
            case "schema":
                schema = try Self.schemaName(value)
            default:
                throw Self.invalid(
                    "unknown option '\(parts[0])'; only sslmode=disable|prefer|require, pooling=none|session|transaction and schema=NAME are supported"
                )
            }
        }
    }

    /// The URL as logs and `top` show it: the password replaced.
    var redacted: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let options =
            (sslMode == .prefer ? [] : ["sslmode=\(sslMode.rawValue)"])
            + (pooling == .none ? [] : ["pooling=\(pooling.rawValue)"])
            + (schema == Self.standardSchema ? [] : ["schema=\(schema)"])
        let query = options.isEmpty ? "" : "?" + options.joined(separator: "&")
        return "postgres://\(user)\(password == nil ? "" : ":***")@\(hostPart):\(port)/\(database)\(query)"
    }

    /// Whether consecutive transactions may land on different server connections.
    var poolsTransactions: Bool { pooling == .transaction }

    /// `host:port`, for error messages.
    var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    private static func invalid(_ reason: String) -> DispatcherError {
        DispatcherError(
            "invalid PostgreSQL URL: \(reason) (expected postgres://USER[:PASS]@HOST[:PORT]/DB[?sslmode=…&pooling=…&schema=…])"
        )
    }

    /// A schema name written the way SQL in any client can name it without quotes: lower-case
    /// letters, digits and `_`, not starting with a digit, at most 63 bytes (PostgreSQL's limit),
    /// and not one of the server's own (`pg_…`, `information_schema`).
    private static func schemaName(_ text: String) throws -> String {
        let valid =
            (1...63).contains(text.utf8.count)
            && text.utf8.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || $0 == UInt8(ascii: "_")
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
            }
            && !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text.utf8.first!)
        guard valid else {
            throw invalid(
                "schema must be 1 to 63 lower-case letters, digits and _, not starting with a digit, not '\(text)'")
        }
        guard !text.hasPrefix("pg_"), text != "information_schema" else {
            throw invalid("schema '\(text)' is one of PostgreSQL's own")
        }
        return text
    }

    private static func port(_ text: Substring) throws -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw invalid("the port must be a number from 1 to 65535")
        }
        return port
    }

    /// Percent-decoding, so a password may hold `@`, `:` or `/`.
    private static func decode(_ text: Substring, what: String) throws -> String {
        var bytes = [UInt8]()
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first < utf8.endIndex, utf8.index(after: first) < utf8.endIndex,
                    let value = UInt8(
                        String(decoding: utf8[first...utf8.index(after: first)], as: UTF8.self), radix: 16)
                else { throw invalid("bad %-escape in the \(what)") }
                bytes.append(value)
                index = utf8.index(first, offsetBy: 2)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
