/// Why `HTTPResponseParser` refused the bytes of a response. The connection that carried them
/// cannot be trusted any further and is closed.
struct HTTPResponseParserError: Error, Hashable, CustomStringConvertible {
    /// What was wrong.
    enum Code: Hashable, Sendable {
        /// The first line is not `HTTP/1.x NNN reason`.
        case malformedStatusLine
        /// A header line is not `name: value`, or a value holds control characters.
        case malformedHeader
        /// A header line continues the previous one (obs-fold), which RFC 9112 lets a client refuse.
        case obsoleteLineFolding
        /// `Content-Length` is not a number, or several disagree.
        case invalidContentLength
        /// `Content-Length` and `Transfer-Encoding` both frame the body.
        case conflictingFraming
        /// A transfer coding other than a single `chunked`.
        case unsupportedTransferCoding
        /// A chunk size line is not hexadecimal (with optional extensions), or is too long.
        case invalidChunkSize
        /// A chunk's data is not followed by a line end.
        case malformedChunk
        /// The status line and headers (or the trailers) exceed the header cap.
        case headerTooLarge
        /// The body exceeds the body cap.
        case bodyTooLarge
        /// `101 Switching Protocols`, which nothing here asked for.
        case unexpectedSwitchingProtocols
        /// Bytes arrived when no response was expected.
        case unsolicitedData
    }

    var code: Code

    init(_ code: Code) {
        self.code = code
    }

    var description: String {
        switch code {
        case .malformedStatusLine: "malformed status line"
        case .malformedHeader: "malformed header line"
        case .obsoleteLineFolding: "obsolete line folding in a header"
        case .invalidContentLength: "invalid or conflicting Content-Length"
        case .conflictingFraming: "both Content-Length and Transfer-Encoding"
        case .unsupportedTransferCoding: "unsupported Transfer-Encoding"
        case .invalidChunkSize: "invalid chunk size"
        case .malformedChunk: "chunk data not followed by a line end"
        case .headerTooLarge: "header block too large"
        case .bodyTooLarge: "body too large"
        case .unexpectedSwitchingProtocols: "unexpected 101 Switching Protocols"
        case .unsolicitedData: "bytes received when no response was expected"
        }
    }
}
