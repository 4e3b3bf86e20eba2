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
        if let error = error as? DispatcherError {
            return error
        }
        return DispatcherError("cannot open database \(url.redacted) at \(url.endpoint): \(cause(of: error))")
    }

    /// An error while running a statement.
    static func describe(_ error: any Error, url: PostgresURL) -> any Error {
        if error is DispatcherError || error is CancellationError { return error }
        return DispatcherError("PostgreSQL at \(url.endpoint): \(cause(of: error))")
    }

    /// The most specific text an error carries.
    static func cause(of error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return message + state
            }
            if let underlying = error.underlying {
                return cause(of: underlying)
            }
            switch error.code {
            case .serverClosedConnection: return "the server closed the connection"
            case .clientClosedConnection: return "the connection was closed"
            case .connectionError: return "connection failed"
            case .sslUnsupported: return "the server does not support TLS (sslmode=require)"
            case .authMechanismRequiresPassword: return "the server asks for a password and none was given"
            case .poolClosed: return "the connection pool is closed"
            default: return "\(error.code)"
            }
        }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first {
                return cause(of: first.error)
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
