import GRPCCore

/// Turns a gRPC status into a call outcome.
///
/// | status                                                                   | outcome |
/// |--------------------------------------------------------------------------|---------|
/// | OK                                                                       | succeeded |
/// | UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN | retry (counts for the breaker) |
/// | every other status                                                       | failed  |
///
/// The failure message, stored as the job's `last_error`, reads `gRPC <STATUS_NAME>: <message>`.
enum GRPCStatusClassifier {
    static func classify(_ error: RPCError) -> CallFailure {
        let message = "gRPC \(name(of: error.code)): \(error.message)"
        return isRetryable(error.code) ? .retryable(message) : .permanent(message)
    }

    static func isRetryable(_ code: RPCError.Code) -> Bool {
        switch code {
        case .unavailable, .deadlineExceeded, .resourceExhausted, .aborted, .internalError, .unknown: return true
        default: return false
        }
    }

    /// The canonical upper-case name of a status code, as in gRPC's documentation.
    static func name(of code: RPCError.Code) -> String {
        switch code {
        case .cancelled: return "CANCELLED"
        case .unknown: return "UNKNOWN"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .deadlineExceeded: return "DEADLINE_EXCEEDED"
        case .notFound: return "NOT_FOUND"
        case .alreadyExists: return "ALREADY_EXISTS"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .resourceExhausted: return "RESOURCE_EXHAUSTED"
        case .failedPrecondition: return "FAILED_PRECONDITION"
        case .aborted: return "ABORTED"
        case .outOfRange: return "OUT_OF_RANGE"
        case .unimplemented: return "UNIMPLEMENTED"
        case .internalError: return "INTERNAL"
        case .unavailable: return "UNAVAILABLE"
        case .dataLoss: return "DATA_LOSS"
        case .unauthenticated: return "UNAUTHENTICATED"
        default: return "STATUS_\(code.rawValue)"
        }
    }
}
