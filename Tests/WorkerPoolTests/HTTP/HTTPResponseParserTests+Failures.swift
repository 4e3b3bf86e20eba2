@testable import WorkerPool

extension HTTPResponseParserTests {
    /// Responses the parser must refuse, each with the error it must give, however split.
    static let failures: [(Fixture, HTTPResponseParserError.Code)] = [
        (Fixture(name: "not HTTP", bytes: "SMTP READY\r\n\r\n"), .malformedStatusLine),
        (Fixture(name: "HTTP/2 status line", bytes: "HTTP/2 200\r\n\r\n"), .malformedStatusLine),
        (Fixture(name: "letters in the status", bytes: "HTTP/1.1 2x0 OK\r\n\r\n"), .malformedStatusLine),
        (Fixture(name: "no space after the status", bytes: "HTTP/1.1 200OK\r\n\r\n"), .malformedStatusLine),
        (Fixture(name: "two-digit status", bytes: "HTTP/1.1 20 OK\r\n\r\n"), .malformedStatusLine),
        (Fixture(name: "blank line first", bytes: "\r\nHTTP/1.1 200 OK\r\n\r\n"), .malformedStatusLine),
        (
            Fixture(name: "obs-fold", bytes: "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
            .obsoleteLineFolding
        ),
        (Fixture(name: "header without colon", bytes: "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n"), .malformedHeader),
        (
            Fixture(name: "space before the colon", bytes: "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"),
            .malformedHeader
        ),
        (Fixture(name: "empty header name", bytes: "HTTP/1.1 200 OK\r\n: x\r\n\r\n"), .malformedHeader),
        (Fixture(name: "bare CR in a value", bytes: "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"), .malformedHeader),
        (
            Fixture(
                name: "conflicting Content-Length headers",
                bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"),
            .invalidContentLength
        ),
        (
            Fixture(
                name: "conflicting Content-Length list", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello"),
            .invalidContentLength
        ),
        (
            Fixture(name: "negative Content-Length", bytes: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
            .invalidContentLength
        ),
        (
            Fixture(name: "signed Content-Length", bytes: "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx"),
            .invalidContentLength
        ),
        (
            Fixture(name: "empty Content-Length", bytes: "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n"),
            .invalidContentLength
        ),
        (
            Fixture(
                name: "huge Content-Length", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"),
            .invalidContentLength
        ),
        (
            Fixture(
                name: "Content-Length and chunked",
                bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
            .conflictingFraming
        ),
        (
            Fixture(name: "gzip", bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
            .unsupportedTransferCoding
        ),
        (
            Fixture(
                name: "chunked twice",
                bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            .unsupportedTransferCoding
        ),
        (
            Fixture(name: "chunk size not hex", bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            .invalidChunkSize
        ),
        (
            Fixture(name: "empty chunk size", bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n"),
            .invalidChunkSize
        ),
        (
            Fixture(
                name: "garbage after chunk size",
                bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n"),
            .invalidChunkSize
        ),
        (
            Fixture(
                name: "chunk size overflows",
                bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n"),
            .invalidChunkSize
        ),
        (
            Fixture(
                name: "chunk data too long",
                bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n"),
            .malformedChunk
        ),
        (
            Fixture(name: "101 Switching Protocols", bytes: "HTTP/1.1 101 Switching Protocols\r\n\r\n"),
            .unexpectedSwitchingProtocols
        ),
        (
            Fixture(
                name: "header block over the cap", bytes: "HTTP/1.1 204 OK\r\nA: 123\r\n\r\n", maximumHeaderBytes: 26),
            .headerTooLarge
        ),
        (
            Fixture(
                name: "endless header block", bytes: "HTTP/1.1 200 OK\r\nX: " + String(repeating: "y", count: 200),
                maximumHeaderBytes: 100),
            .headerTooLarge
        ),
        (
            Fixture(
                name: "trailers over the cap",
                bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: "
                    + String(repeating: "y", count: 200),
                maximumHeaderBytes: 100),
            .headerTooLarge
        ),
        (
            Fixture(
                name: "Content-Length over the cap", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n123456",
                maximumBodyBytes: 5),
            .bodyTooLarge
        ),
        (
            Fixture(
                name: "chunks over the cap",
                bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n123\r\n3\r\n456\r\n0\r\n\r\n",
                maximumBodyBytes: 5),
            .bodyTooLarge
        ),
        (
            Fixture(
                name: "body until the close over the cap", bytes: "HTTP/1.1 200 OK\r\n\r\n123456", closes: true,
                maximumBodyBytes: 5),
            .bodyTooLarge
        ),
        (
            Fixture(
                name: "bytes after the response",
                bytes: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"),
            .unsolicitedData
        ),
        (
            Fixture(
                name: "a byte after a chunked response",
                bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\n"),
            .unsolicitedData
        ),
    ]
}
