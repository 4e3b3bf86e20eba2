/// A gRPC status code, as carried in `grpc-status`.
struct GRPCStatusCode: RawRepresentable, Hashable, Sendable {
    var rawValue: Int

    init(rawValue: Int) {
        self.rawValue = rawValue
    }

    static let ok = Self(rawValue: 0)
    static let cancelled = Self(rawValue: 1)
    static let unknown = Self(rawValue: 2)
    static let invalidArgument = Self(rawValue: 3)
    static let deadlineExceeded = Self(rawValue: 4)
    static let notFound = Self(rawValue: 5)
    static let alreadyExists = Self(rawValue: 6)
    static let permissionDenied = Self(rawValue: 7)
    static let resourceExhausted = Self(rawValue: 8)
    static let failedPrecondition = Self(rawValue: 9)
    static let aborted = Self(rawValue: 10)
    static let outOfRange = Self(rawValue: 11)
    static let unimplemented = Self(rawValue: 12)
    static let internalError = Self(rawValue: 13)
    static let unavailable = Self(rawValue: 14)
    static let dataLoss = Self(rawValue: 15)
    static let unauthenticated = Self(rawValue: 16)

    /// The canonical upper-case name, as in gRPC's documentation.
    var name: String {
        switch self {
        case .ok: return "OK"
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
        default: return "STATUS_\(rawValue)"
        }
    }

    /// The status for a response whose HTTP status is not 200, as the gRPC over HTTP/2
    /// protocol maps it (a proxy or a load balancer answered, not the gRPC server).
    static func forHTTPStatus(_ status: Int) -> Self {
        switch status {
        case 400: return .internalError
        case 401: return .unauthenticated
        case 403: return .permissionDenied
        case 404: return .unimplemented
        case 429, 502, 503, 504: return .unavailable
        default: return .unknown
        }
    }
}

/// A call's final gRPC status: a code and the server's message (`grpc-message`, decoded).
struct GRPCStatus: Error, Hashable, Sendable {
    var code: GRPCStatusCode
    var message: String
}
