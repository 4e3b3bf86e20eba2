import PostgresNIO

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Turns postgres-nio's errors into the one-line messages users see: PSQLError's own
/// description deliberately hides everything, so the server's message or the network cause is
/// taken out of it here.
enum PostgresErrors {
    /// An error while connecting or migrating: names the host and the cause.
    static func opening(_ url: PostgresURL, _ error: any Error) -> DispatcherError {
        if let error = unwrapped(error) as? DispatcherError {
            return error
        }
        return DispatcherError("cannot open database \(url.redacted) at \(url.endpoint): \(cause(of: error))")
    }

    /// An error while running a statement, with its SQLSTATE when the server gave one.
    static func describe(_ error: any Error, url: PostgresURL) -> any Error {
        let error = unwrapped(error)
        if error is DispatcherError || error is CancellationError || error is StoreError { return error }
        return StoreError(
            code: sqlState(of: error).map(StoreError.Code.sqlState) ?? .none,
            message: "PostgreSQL at \(url.endpoint): \(cause(of: error))")
    }

    /// The SQLSTATE of the first thing that went wrong, as `cause(of:)` finds it.
    static func sqlState(of error: any Error) -> String? {
        if let error = error as? PostgresTransactionError {
            return (error.beginError ?? error.closureError ?? error.commitError ?? error.rollbackError)
                .flatMap(sqlState(of:))
        }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// The error a transaction's body threw (ours, or a cancellation), else `error` itself.
    static func unwrapped(_ error: any Error) -> any Error {
        if let transaction = error as? PostgresTransactionError, let body = transaction.closureError,
            body is DispatcherError || body is CancellationError
        {
            return body
        }
        return error
    }

    /// The most specific text an error carries, on one line: a multi-line server message (a
    /// DETAIL, a context, a pooler's banner) is cut to its first line, and no text is longer than
    /// `longest` characters, so no error ever prints a dump of a packet or a query.
    static func cause(of error: any Error) -> String {
        oneLine(fullCause(of: error))
    }

    /// The longest cause printed.
    static let longest = 300

    /// `text`'s first non-empty line, at most `longest` characters.
    static func oneLine(_ text: String) -> String {
        let line =
            text.split(whereSeparator: \.isNewline).lazy
            .map { String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()) }
            .first { !$0.isEmpty } ?? ""
        guard line.count > longest else { return line.isEmpty ? "unknown error" : line }
        return String(line.prefix(longest - 1)) + "…"
    }

    private static func fullCause(of error: any Error) -> String {
        if let error = error as? PostgresTransactionError {
            // The first thing that went wrong: the failed statement, not the rollback after it.
            if let first = error.beginError ?? error.closureError ?? error.commitError ?? error.rollbackError {
                return fullCause(of: first)
            }
            return "the transaction failed"
        }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return oneLine(message) + state
            }
            if let underlying = error.underlying {
                return fullCause(of: underlying)
            }
            switch error.code {
            case .serverClosedConnection: return "the server closed the connection"
            case .clientClosedConnection: return "the connection was closed"
            case .connectionError: return "connection failed"
            case .sslUnsupported: return "the server does not support TLS (sslmode=require)"
            case .authMechanismRequiresPassword: return "the server asks for a password and none was given"
            case .poolClosed: return "the connection pool is closed"
            case .unexpectedBackendMessage: return "the server sent an unexpected message"
            default: return "\(error.code)"
            }
        }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first {
                return fullCause(of: first.error)
            }
            if let dns = error.dnsAError ?? error.dnsAAAAError {
                return "cannot resolve host: \(dns)"
            }
            return "connection failed"
        }
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode)).lowercased()
        }
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return "connection timed out"
        }
        return "\(error)"
    }
}
