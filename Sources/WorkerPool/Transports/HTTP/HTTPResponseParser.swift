import NIOCore

/// An incremental HTTP/1.1 response parser for a client that sends one request at a time.
///
/// The client calls `expectResponse()` when it sends a request, then feeds the connection's
/// bytes to `parse(_:)` as they arrive, split anywhere; `parse` returns the response once it is
/// complete. A response whose body runs until the connection closes is completed by
/// `connectionClosed()`.
///
/// | response                                   | body                                      |
/// |--------------------------------------------|-------------------------------------------|
/// | 1xx (except 101)                            | none; skipped, the final response follows |
/// | 204, 304                                    | none                                      |
/// | `Transfer-Encoding: chunked`                | the chunks (extensions and trailers skipped) |
/// | `Content-Length: n`                         | the next n bytes                          |
/// | neither                                     | everything until the connection closes   |
///
/// Keep-alive follows the version: on for HTTP/1.1 unless `Connection: close`, off for HTTP/1.0
/// unless `Connection: keep-alive`, and always off for a body that runs until the close.
///
/// Headers are scanned as bytes: only the ones that decide framing or keep-alive are looked at,
/// and only `Retry-After`'s value becomes a `String` (when present). Any error leaves the parser
/// refusing everything after it: the connection is to be closed.
struct HTTPResponseParser {
    /// The largest status line plus headers (and, separately, the largest trailer block).
    let maximumHeaderBytes: Int
    /// The largest body; a larger one fails with `.bodyTooLarge`.
    let maximumBodyBytes: Int

    private enum State {
        /// No request is outstanding: any byte is unsolicited.
        case idle
        /// Waiting for the end of a response head. The first `scanned` readable bytes of the
        /// carried-over buffer hold no head end, so the search resumes there.
        case head(scanned: Int)
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The line end after a chunk's data.
        case chunkDataEnd
        /// Skipping trailer lines; `consumed` counts the trailer bytes so far, `scanned` as in `head`.
        case trailers(consumed: Int, scanned: Int)
        case untilClose
        /// After an error or the close: everything is discarded.
        case done
    }

    private var state = State.idle
    /// Bytes of an unfinished head, size line or line end, carried over to the next read.
    private var carried = ByteBuffer()
    /// The response being read.
    private var status = 0
    private var keepAlive = true
    private var retryAfter: String?
    private var body = ByteBuffer()

    /// A chunk size line (with its extensions) longer than this is refused.
    static let maximumChunkSizeLineBytes = 4096

    init(maximumHeaderBytes: Int = 64 * 1024, maximumBodyBytes: Int) {
        self.maximumHeaderBytes = maximumHeaderBytes
        self.maximumBodyBytes = maximumBodyBytes
    }

    /// The request has been sent: the bytes that follow are its response.
    mutating func expectResponse() {
        guard case .idle = state else { return }
        state = .head(scanned: 0)
    }

    /// Consumes `input` up to the end of the expected response and returns that response once
    /// complete, or nil when more bytes are needed (the unfinished part is kept).
    ///
    /// Bytes after a complete response are left in `input`: the client has not sent another
    /// request, so they are unsolicited, and feeding them again throws `.unsolicitedData`.
    mutating func parse(_ input: inout ByteBuffer) throws(HTTPResponseParserError) -> UpstreamHTTPResponse? {
        if carried.readableBytes == 0 {
            // The common case: the read holds the whole response, which is parsed in place
            // (and its body sliced out of it without a copy).
            let response = try step(&input)
            if response == nil, input.readableBytes > 0 {
                carried = input
                input.moveReaderIndex(to: input.writerIndex)
            }
            return response
        }
        carried.writeBuffer(&input)
        // Moved out (not borrowed) for the step, which mutates the parser too.
        var bytes = carried
        carried = ByteBuffer()
        let response = try step(&bytes)
        if response != nil {
            input = bytes
        } else if bytes.readableBytes > 0 {
            carried = bytes
        }
        // Otherwise `carried` stays empty, holding no read buffer between responses.
        return response
    }

    /// The connection has closed: returns the response whose body ran until the close, or nil
    /// when none was (an unfinished response is lost with the connection).
    mutating func connectionClosed() -> UpstreamHTTPResponse? {
        defer { state = .done }
        guard case .untilClose = state else { return nil }
        return finish()
    }

    private mutating func step(_ bytes: inout ByteBuffer) throws(HTTPResponseParserError) -> UpstreamHTTPResponse? {
        do {
            return try advance(&bytes)
        } catch {
            state = .done
            body = ByteBuffer()
            throw error
        }
    }

    private mutating func advance(_ bytes: inout ByteBuffer) throws(HTTPResponseParserError) -> UpstreamHTTPResponse? {
        while true {
            switch state {
            case .idle:
                if bytes.readableBytes > 0 { throw HTTPResponseParserError(.unsolicitedData) }
                return nil

            case .done:
                bytes.moveReaderIndex(to: bytes.writerIndex)
                return nil

            case .head(let scanned):
                let search = bytes.withUnsafeReadableBytes { Self.findHeadEnd($0, from: scanned) }
                guard let length = search.end else {
                    if bytes.readableBytes >= maximumHeaderBytes { throw HTTPResponseParserError(.headerTooLarge) }
                    // Fail fast on a peer that is not speaking HTTP at all.
                    if !bytes.withUnsafeReadableBytes(Self.couldStartStatusLine) {
                        throw HTTPResponseParserError(.malformedStatusLine)
                    }
                    state = .head(scanned: search.resume)
                    return nil
                }
                guard length <= maximumHeaderBytes else { throw HTTPResponseParserError(.headerTooLarge) }
                let head = try bytes.withUnsafeReadableBytes {
                    Self.parseHead(UnsafeRawBufferPointer(rebasing: $0[..<length]))
                }.get()
                bytes.moveReaderIndex(forwardBy: length)
                try begin(head)

            case .fixedBody(let remaining):
                if remaining == 0 { return finish() }
                let available = bytes.readableBytes
                guard available > 0 else { return nil }
                let take = min(available, remaining)
                appendToBody(bytes.readSlice(length: take)!, expected: remaining)
                state = .fixedBody(remaining: remaining - take)

            case .chunkSize:
                let line = bytes.withUnsafeReadableBytes(Self.parseChunkSizeLine)
                switch line {
                case .incomplete:
                    guard bytes.readableBytes <= Self.maximumChunkSizeLineBytes else {
                        throw HTTPResponseParserError(.invalidChunkSize)
                    }
                    return nil
                case .invalid:
                    throw HTTPResponseParserError(.invalidChunkSize)
                case .size(let size, let length):
                    guard length <= Self.maximumChunkSizeLineBytes else {
                        throw HTTPResponseParserError(.invalidChunkSize)
                    }
                    bytes.moveReaderIndex(forwardBy: length)
                    if size == 0 {
                        state = .trailers(consumed: 0, scanned: 0)
                    } else {
                        guard size <= maximumBodyBytes - body.readableBytes else {
                            throw HTTPResponseParserError(.bodyTooLarge)
                        }
                        state = .chunkData(remaining: size)
                    }
                }

            case .chunkData(let remaining):
                let available = bytes.readableBytes
                guard available > 0 else { return nil }
                let take = min(available, remaining)
                appendToBody(bytes.readSlice(length: take)!, expected: remaining)
                state = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)

            case .chunkDataEnd:
                guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return nil }
                if first == ASCII.lf {
                    bytes.moveReaderIndex(forwardBy: 1)
                } else {
                    guard first == ASCII.cr else { throw HTTPResponseParserError(.malformedChunk) }
                    guard let second = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt8.self) else { return nil }
                    guard second == ASCII.lf else { throw HTTPResponseParserError(.malformedChunk) }
                    bytes.moveReaderIndex(forwardBy: 2)
                }
                state = .chunkSize

            case .trailers(let consumed, let scanned):
                let lineFeed = bytes.withUnsafeReadableBytes { Self.firstLineFeed(in: $0, from: scanned) }
                guard let lineFeed else {
                    guard consumed + bytes.readableBytes <= maximumHeaderBytes else {
                        throw HTTPResponseParserError(.headerTooLarge)
                    }
                    state = .trailers(consumed: consumed, scanned: bytes.readableBytes)
                    return nil
                }
                let isBlank =
                    lineFeed == 0
                    || (lineFeed == 1 && bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) == ASCII.cr)
                bytes.moveReaderIndex(forwardBy: lineFeed + 1)
                if isBlank { return finish() }
                guard consumed + lineFeed + 1 <= maximumHeaderBytes else {
                    throw HTTPResponseParserError(.headerTooLarge)
                }
                // Trailers carry nothing a JSON-RPC client uses: they are skipped unread.
                state = .trailers(consumed: consumed + lineFeed + 1, scanned: 0)

            case .untilClose:
                let available = bytes.readableBytes
                guard available > 0 else { return nil }
                guard available <= maximumBodyBytes - body.readableBytes else {
                    throw HTTPResponseParserError(.bodyTooLarge)
                }
                appendToBody(bytes.readSlice(length: available)!, expected: available)
                return nil
            }
        }
    }

    /// Sets up for the body the head announces; an interim (1xx) head sends the parser back for
    /// the final one.
    private mutating func begin(_ head: Head) throws(HTTPResponseParserError) {
        if head.status < 200 {
            guard head.status != 101 else { throw HTTPResponseParserError(.unexpectedSwitchingProtocols) }
            state = .head(scanned: 0)
            return
        }
        status = head.status
        keepAlive = head.keepAlive
        retryAfter = head.retryAfter
        body = ByteBuffer()
        if head.status == 204 || head.status == 304 {
            state = .fixedBody(remaining: 0)
            return
        }
        switch head.framing {
        case .chunked:
            state = .chunkSize
        case .contentLength(let length):
            guard length <= maximumBodyBytes else { throw HTTPResponseParserError(.bodyTooLarge) }
            state = .fixedBody(remaining: length)
        case .untilClose:
            keepAlive = false
            state = .untilClose
        }
    }

    /// Adds `part` to the body. The first part is kept as it is (a slice of the read, no copy);
    /// a later one is copied after it, with room reserved for the `expected` rest.
    private mutating func appendToBody(_ part: ByteBuffer, expected: Int) {
        if body.readableBytes == 0 {
            body = part
            return
        }
        var part = part
        if body.writableBytes < part.readableBytes {
            body.reserveCapacity(minimumWritableBytes: max(part.readableBytes, expected))
        }
        body.writeBuffer(&part)
    }

    private mutating func finish() -> UpstreamHTTPResponse {
        let response = UpstreamHTTPResponse(status: status, keepAlive: keepAlive, retryAfter: retryAfter, body: body)
        state = .idle
        retryAfter = nil
        body = ByteBuffer()
        return response
    }
}

/// The bytes the parser looks for.
enum ASCII {
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let comma: UInt8 = 0x2C
    static let semicolon: UInt8 = 0x3B
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
}
