import NIOHPACK
import NIOHTTP2

/// What a `GRPCClientHandler` is opened with and asked to do.
extension GRPCClientHandler {
    /// One call to make.
    struct Request: Sendable {
        /// `/package.Service/Method`.
        var path: String
        /// The request message (without the length prefix).
        var message: [UInt8]
        var timeout: Duration
        var idempotencyKey: String
    }

    /// What the connection was opened with.
    struct Settings: Sendable {
        /// `http` or `https`.
        var scheme: String
        var authority: String
        /// Sent with every call after the fixed headers (names lower-cased).
        var metadata: [UpstreamHeader]
        var maximumResponseBytes: Int
        /// The receive window kept open for the connection and for each call's stream.
        var windowSize: Int
        /// How long the server may take to send its SETTINGS once the TCP connection is up.
        var connectTimeout: Duration
        /// A PING every `keepalive`, when set; no ACK within `keepaliveTimeout` closes the
        /// connection.
        var keepalive: Duration?
        var keepaliveTimeout: Duration
    }

    /// The initial receive window HTTP/2 gives a connection.
    static let defaultWindowSize = 65_535

    /// The HTTP/2 settings this client announces: no server push, and each stream's receive
    /// window at `windowSize`.
    static func initialSettings(windowSize: Int) -> HTTP2Settings {
        [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .initialWindowSize, value: windowSize),
            HTTP2Setting(parameter: .maxHeaderListSize, value: HPACKDecoder.defaultMaxHeaderListSize),
        ]
    }
}
