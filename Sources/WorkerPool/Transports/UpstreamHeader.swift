/// One header sent with every call to an upstream: an HTTP request header for `http`/`https`,
/// gRPC metadata for `grpc`/`grpcs` (whose names the transport sends lower-cased).
///
/// Values are secrets as often as not (`Authorization`, API keys): nothing in WorkerPool logs or
/// describes a value, and `description` shows only the name.
///
/// `validate(for:)` holds the rules, per transport, in one place:
///
/// | check                         | HTTP/1.1 (`http`, `https`)                         | gRPC (`grpc`, `grpcs`)                              |
/// |-------------------------------|----------------------------------------------------|-----------------------------------------------------|
/// | name                          | an RFC 9110 token                                   | the same, sent lower-cased                          |
/// | value                         | no CR, LF, NUL or other control byte but tab        | printable ASCII (0x20–0x7E) only                    |
/// | reserved (set by the client)  | Host, Content-Length, Content-Type, Transfer-Encoding, Connection, Idempotency-Key | `:`-pseudo headers, `grpc-*`, te, content-type, idempotency-key |
/// | cannot be carried             | —                                                   | connection-specific headers (HTTP/2 forbids them), `*-bin` (binary metadata) |
public struct UpstreamHeader: Sendable, Hashable, CustomStringConvertible {
    /// The header's name as configured.
    public var name: String
    /// The header's value, secrets already resolved.
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name): ***" }

    /// `Authorization: Basic …` for a URL's user and password (RFC 7617, UTF-8).
    public static func basicAuthorization(_ credentials: UpstreamURL.Credentials) -> UpstreamHeader {
        UpstreamHeader(
            name: "Authorization",
            value: "Basic " + Base64.encode(Array("\(credentials.user):\(credentials.password)".utf8)))
    }

    /// Checks that a transport of `scheme` can send this header as configured; the message never
    /// shows the value.
    public func validate(for scheme: UpstreamURL.Scheme) throws(UpstreamHeaderError) {
        if name.hasPrefix(":") {
            throw UpstreamHeaderError(
                message: "pseudo-header \(name) is set by the dispatcher and cannot be configured")
        }
        guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
            if name.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
                throw UpstreamHeaderError(message: "header name contains CR, LF or NUL")
            }
            throw UpstreamHeaderError(message: "header name '\(name)' is not a valid HTTP token")
        }
        let lowered = name.lowercased()
        switch scheme {
        case .http, .https:
            if Self.reservedHTTP.contains(lowered) {
                throw UpstreamHeaderError(message: "header \(name) is set by the dispatcher and cannot be configured")
            }
            if value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
                throw UpstreamHeaderError(message: "header \(name): value contains CR, LF or NUL")
            }
            if value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
                throw UpstreamHeaderError(message: "header \(name): value contains a control character")
            }
        case .grpc, .grpcs:
            if lowered.hasPrefix("grpc-") || Self.reservedGRPC.contains(lowered) {
                throw UpstreamHeaderError(
                    message: "metadata \(lowered) is set by the dispatcher and cannot be configured")
            }
            if Self.connectionSpecific.contains(lowered) || lowered.hasSuffix("-bin") {
                throw UpstreamHeaderError(message: "header \(name) cannot be carried as gRPC metadata")
            }
            if value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
                throw UpstreamHeaderError(message: "header \(name): value contains CR, LF or NUL")
            }
            if value.utf8.contains(where: { $0 < 0x20 || $0 > 0x7E }) {
                throw UpstreamHeaderError(
                    message: "header \(name): gRPC metadata values must be printable ASCII")
            }
        }
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static let reservedHTTP: Set<String> = [
        "host", "content-length", "content-type", "transfer-encoding", "connection", "idempotency-key",
    ]
    private static let reservedGRPC: Set<String> = ["te", "content-type", "idempotency-key"]
    private static let connectionSpecific: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host",
    ]
}

/// A header the transport cannot send as configured.
public struct UpstreamHeaderError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
