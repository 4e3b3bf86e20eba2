import NIOCore
import NIOHPACK
import Testing

@testable import WorkerPool

@Suite("GRPCResponseParser and HTTP2ControlFrameGuard")
struct GRPCResponseParserTests {
    static let responseHeaders: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]

    static func framed(_ message: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }

    @Test func aMessageSplitOverDataFramesEndsWithTheTrailers() {
        var parser = GRPCResponseParser(maximumMessageBytes: 100)
        #expect(parser.headers(Self.responseHeaders, endStream: false) == nil)
        var framed = Self.framed([1, 2, 3, 4])
        #expect(parser.data(framed.readSlice(length: 3)!, endStream: false) == nil)
        #expect(parser.data(framed, endStream: false) == nil)
        #expect(parser.headers(["grpc-status": "0"], endStream: true) == .message([1, 2, 3, 4]))
    }

    @Test func aTrailersOnlyResponseCarriesTheStatusAndTheDecodedMessage() {
        var parser = GRPCResponseParser(maximumMessageBytes: 100)
        let headers: HPACKHeaders = [
            ":status": "200", "content-type": "application/grpc", "grpc-status": "3",
            "grpc-message": "bad%20field%E2%9C%93",
        ]
        #expect(
            parser.headers(headers, endStream: true)
                == .status(GRPCStatus(code: .invalidArgument, message: "bad field✓")))
    }

    @Test func brokenResponsesBecomeStatuses() {
        var parser = GRPCResponseParser(maximumMessageBytes: 100)
        #expect(parser.headers([":status": "503"], endStream: false)?.statusCode == .unavailable)
        parser = GRPCResponseParser(maximumMessageBytes: 100)
        #expect(
            parser.headers([":status": "200", "content-type": "text/html"], endStream: false)?.statusCode == .unknown)
        parser = GRPCResponseParser(maximumMessageBytes: 100)
        _ = parser.headers(Self.responseHeaders, endStream: false)
        #expect(parser.headers(["x": "y"], endStream: true)?.statusCode == .unknown, "no grpc-status")
        parser = GRPCResponseParser(maximumMessageBytes: 100)
        _ = parser.headers(Self.responseHeaders, endStream: false)
        #expect(parser.headers(["grpc-status": "0"], endStream: true)?.statusCode == .internalError, "no message")
        parser = GRPCResponseParser(maximumMessageBytes: 100)
        _ = parser.headers(Self.responseHeaders, endStream: false)
        var framed = Self.framed([1, 2, 3])
        _ = parser.data(framed.readSlice(length: 6)!, endStream: false)
        #expect(parser.headers(["grpc-status": "0"], endStream: true)?.statusCode == .internalError, "truncated")
    }

    @Test func aMessageOverTheLimitIsRefusedFromItsPrefix() {
        var parser = GRPCResponseParser(maximumMessageBytes: 10)
        _ = parser.headers(Self.responseHeaders, endStream: false)
        var framed = Self.framed([UInt8](repeating: 1, count: 11))
        #expect(parser.data(framed.readSlice(length: 5)!, endStream: false) == .tooLarge(limit: 10))
    }

    @Test func pingsThatFollowCallsAreFreeAndAnIdleFloodIsNot() {
        var guardian = HTTP2ControlFrameGuard()
        let start = NIODeadline.now()
        for index in 0..<10_000 {
            guardian.callFrameReceived()
            let allowed = guardian.controlFrameReceived(at: start + .microseconds(Int64(index)))
            #expect(allowed)
        }
        for index in 0..<100 {
            let allowed = guardian.controlFrameReceived(at: start + .milliseconds(Int64(index)))
            #expect(allowed)
        }
        let flood = guardian.controlFrameReceived(at: start + .milliseconds(101))
        #expect(!flood, "the 101st idle PING in 10 s")
        var idle = HTTP2ControlFrameGuard()
        for second in 0..<1000 {
            let allowed = idle.controlFrameReceived(at: start + .seconds(Int64(second)))
            #expect(allowed, "a keepalive PING a second")
        }
    }
}

extension GRPCResponseParser.Outcome {
    var statusCode: GRPCStatusCode? {
        if case .status(let status) = self { return status.code }
        return nil
    }
}
