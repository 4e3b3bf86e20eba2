import NIOCore
import Testing

@testable import WorkerPool

/// The parser fed every fixture whole, one byte at a time, cut in two at every position, and in
/// seeded random pieces: the outcome must not depend on how the bytes arrive.
@Suite("HTTP response parser", .timeLimit(.minutes(1)))
struct HTTPResponseParserTests {
    /// What a fixture should parse to.
    struct Expected: Equatable, CustomStringConvertible {
        var status: Int
        var keepAlive: Bool
        var retryAfter: String? = nil
        var body: String

        var description: String { "\(status) keepAlive=\(keepAlive) retryAfter=\(retryAfter ?? "-") body=\(body)" }
    }

    struct Fixture: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: String
        /// The connection closes after the bytes (for bodies that run until the close).
        var closes = false
        var maximumHeaderBytes = 64 * 1024
        var maximumBodyBytes = 1 << 20

        var testDescription: String { name }
    }

    /// The parsed response, or the error, or neither (nothing complete when the bytes ran out).
    enum Outcome: Equatable {
        case response(Expected)
        case error(HTTPResponseParserError.Code)
        case incomplete
    }

    static let responses: [(Fixture, Expected)] = [
        (
            Fixture(
                name: "Content-Length",
                bytes: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello"),
            Expected(status: 200, keepAlive: true, body: "hello")
        ),
        (
            Fixture(name: "empty body", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            Expected(status: 200, keepAlive: true, body: "")
        ),
        (
            Fixture(
                name: "header names in any case",
                bytes: "HTTP/1.1 200 OK\r\ncontent-LENGTH: 2\r\nCONNECTION: Close\r\n\r\nok"),
            Expected(status: 200, keepAlive: false, body: "ok")
        ),
        (
            Fixture(
                name: "close among other connection options",
                bytes: "HTTP/1.1 200 OK\r\nConnection: upgrade ,  close\r\nContent-Length: 2\r\n\r\nok"),
            Expected(status: 200, keepAlive: false, body: "ok")
        ),
        (
            Fixture(name: "HTTP/1.0 closes by default", bytes: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            Expected(status: 200, keepAlive: false, body: "ok")
        ),
        (
            Fixture(
                name: "HTTP/1.0 with keep-alive",
                bytes: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok"),
            Expected(status: 200, keepAlive: true, body: "ok")
        ),
        (
            Fixture(
                name: "Retry-After",
                bytes: "HTTP/1.1 503 Service Unavailable\r\nretry-after: \t 7 \r\nContent-Length: 4\r\n\r\nbusy"),
            Expected(status: 503, keepAlive: true, retryAfter: "7", body: "busy")
        ),
        (
            Fixture(
                name: "chunked with extensions, hex in both cases and trailers",
                bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5;name=value\r\nhello\r\n"
                    + "a ; x\r\n, chunked \r\n"
                    + "000B\r\nworld, hex!\r\n"
                    + "F\r\n and fifteen by\r\nf\r\nte chunks more.\r\n"
                    + "0\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n"),
            Expected(status: 200, keepAlive: true, body: "hello, chunked world, hex! and fifteen byte chunks more.")
        ),
        (
            Fixture(
                name: "one chunk, no trailers",
                bytes: "HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
            Expected(status: 200, keepAlive: true, body: "ok")
        ),
        (
            Fixture(name: "chunked, empty", bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            Expected(status: 200, keepAlive: true, body: "")
        ),
        (
            Fixture(
                name: "body until the close",
                bytes: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close",
                closes: true),
            Expected(status: 200, keepAlive: false, body: "until the close")
        ),
        (
            Fixture(name: "HTTP/1.0 body until the close", bytes: "HTTP/1.0 500 Oops\r\n\r\nbroken", closes: true),
            Expected(status: 500, keepAlive: false, body: "broken")
        ),
        (
            Fixture(
                name: "100 Continue is skipped",
                bytes: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            Expected(status: 200, keepAlive: true, body: "ok")
        ),
        (
            Fixture(
                name: "several interim responses with headers are skipped",
                bytes: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
                    + "HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nnew"),
            Expected(status: 201, keepAlive: true, body: "new")
        ),
        (
            Fixture(name: "204 has no body", bytes: "HTTP/1.1 204 No Content\r\n\r\n"),
            Expected(status: 204, keepAlive: true, body: "")
        ),
        (
            Fixture(
                name: "304 has no body despite a length",
                bytes: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
            Expected(status: 304, keepAlive: true, body: "")
        ),
        (
            Fixture(name: "no reason phrase", bytes: "HTTP/1.1 404\r\nContent-Length: 1\r\n\r\nx"),
            Expected(status: 404, keepAlive: true, body: "x")
        ),
        (
            Fixture(name: "empty reason phrase", bytes: "HTTP/1.1 429 \r\nContent-Length: 0\r\n\r\n"),
            Expected(status: 429, keepAlive: true, body: "")
        ),
        (
            Fixture(name: "bare LF line ends", bytes: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
            Expected(status: 200, keepAlive: true, body: "ok")
        ),
        (
            Fixture(
                name: "repeated identical Content-Length",
                bytes: "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc"),
            Expected(status: 200, keepAlive: true, body: "abc")
        ),
        (
            Fixture(
                name: "body exactly at the cap", bytes: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n12345",
                maximumBodyBytes: 5),
            Expected(status: 200, keepAlive: true, body: "12345")
        ),
        (
            Fixture(
                name: "chunked body exactly at the cap",
                bytes: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n123\r\n2\r\n45\r\n0\r\n\r\n",
                maximumBodyBytes: 5),
            Expected(status: 200, keepAlive: true, body: "12345")
        ),
        (
            Fixture(
                name: "header block exactly at the cap", bytes: "HTTP/1.1 204 OK\r\nA: 12\r\n\r\n",
                maximumHeaderBytes: 26),
            Expected(status: 204, keepAlive: true, body: "")
        ),
    ]

    @Test(arguments: responses)
    func parsesTheResponseHoweverTheBytesAreSplit(_ fixture: Fixture, _ expected: Expected) {
        for (description, pieces) in Self.splits(of: fixture) {
            #expect(Self.parse(pieces, fixture) == .response(expected), "\(fixture.name), \(description)")
        }
    }

    @Test(arguments: failures)
    func refusesTheResponseHoweverTheBytesAreSplit(_ fixture: Fixture, _ code: HTTPResponseParserError.Code) {
        for (description, pieces) in Self.splits(of: fixture) {
            #expect(Self.parse(pieces, fixture) == .error(code), "\(fixture.name), \(description)")
        }
    }

    @Test func aResponseCutShortByTheCloseIsLost() {
        let cut = [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
            "HTTP/1.1 200 OK\r\nContent-Len",
            "",
        ]
        for bytes in cut {
            let fixture = Fixture(name: "cut", bytes: bytes, closes: true)
            for (description, pieces) in Self.splits(of: fixture) {
                #expect(Self.parse(pieces, fixture) == .incomplete, "\(bytes.debugDescription), \(description)")
            }
        }
    }

    @Test func bytesWhenNoResponseIsExpectedAreUnsolicited() {
        var parser = HTTPResponseParser(maximumBodyBytes: 100)
        var bytes = ByteBuffer(string: "HTTP/1.1 200 OK\r\n")
        #expect(throws: HTTPResponseParserError(.unsolicitedData)) { try parser.parse(&bytes) }
    }

    @Test func aConnectionCarriesOneResponseAfterAnother() throws {
        var parser = HTTPResponseParser(maximumBodyBytes: 100)
        for index in 0..<3 {
            parser.expectResponse()
            var first = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r")
            #expect(try parser.parse(&first) == nil)
            var second = ByteBuffer(string: "\n\(index)")
            let response = try #require(try parser.parse(&second))
            #expect(String(buffer: response.body) == "\(index)")
            #expect(second.readableBytes == 0)
        }
    }

    @Test func afterAnErrorEverythingIsDiscarded() throws {
        var parser = HTTPResponseParser(maximumBodyBytes: 100)
        parser.expectResponse()
        var bad = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")
        #expect(throws: HTTPResponseParserError(.invalidContentLength)) { try parser.parse(&bad) }
        parser.expectResponse()
        var good = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(try parser.parse(&good) == nil)
        #expect(good.readableBytes == 0)
        #expect(parser.connectionClosed() == nil)
    }

    @Test func onlyRetryAfterBecomesAString() throws {
        var parser = HTTPResponseParser(maximumBodyBytes: 100)
        parser.expectResponse()
        var bytes = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Retry-After: 9\r\n\r\n")
        let response = try #require(try parser.parse(&bytes))
        #expect(response.retryAfter == nil)
    }

    // MARK: - Feeding

    /// Feeds `pieces` in order as one connection would, and reports what came of them.
    static func parse(_ pieces: [[UInt8]], _ fixture: Fixture) -> Outcome {
        var parser = HTTPResponseParser(
            maximumHeaderBytes: fixture.maximumHeaderBytes, maximumBodyBytes: fixture.maximumBodyBytes)
        parser.expectResponse()
        var response: UpstreamHTTPResponse?
        do {
            for piece in pieces {
                var bytes = ByteBuffer(bytes: piece)
                if response == nil {
                    response = try parser.parse(&bytes)
                }
                // What follows a response is fed again, as the handler does: it must throw.
                if bytes.readableBytes > 0 {
                    _ = try parser.parse(&bytes)
                    Issue.record("\(fixture.name): bytes after the response were accepted")
                }
            }
            if fixture.closes, response == nil {
                response = parser.connectionClosed()
            }
        } catch {
            return .error(error.code)
        }
        guard let response else { return .incomplete }
        return .response(
            Expected(
                status: response.status, keepAlive: response.keepAlive, retryAfter: response.retryAfter,
                body: String(buffer: response.body)))
    }

    /// The fixture's bytes whole, one byte at a time, in two at every position, and in 50 seeded
    /// random splits.
    static func splits(of fixture: Fixture) -> [(String, [[UInt8]])] {
        let bytes = Array(fixture.bytes.utf8)
        var splits: [(String, [[UInt8]])] = [("whole", [bytes]), ("byte by byte", bytes.map { [$0] })]
        for cut in 1..<max(bytes.count, 1) {
            splits.append(("cut at \(cut)", [Array(bytes[..<cut]), Array(bytes[cut...])]))
        }
        var random = SplitMix64(seed: UInt64(bytes.count) &* 0x9E37_79B9)
        for round in 0..<50 {
            var pieces: [[UInt8]] = []
            var start = 0
            while start < bytes.count {
                let length = Int(random.next() % 8) + 1
                let end = min(bytes.count, start + length)
                pieces.append(Array(bytes[start..<end]))
                start = end
            }
            splits.append(("random split \(round)", pieces))
        }
        return splits
    }
}
