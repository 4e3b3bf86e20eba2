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
    static func classify(_ status: GRPCStatus) -> CallFailure {
        let message = "gRPC \(status.code.name): \(status.message)"
        return isRetryable(status.code) ? .retryable(message) : .permanent(message)
    }

    static func isRetryable(_ code: GRPCStatusCode) -> Bool {
        switch code {
        case .unavailable, .deadlineExceeded, .resourceExhausted, .aborted, .internalError, .unknown: return true
        default: return false
        }
    }
}
