import NIOCore
import NIOHPACK

/// Reads one unary call's response as its frames arrive: the response headers, one
/// length-prefixed message in DATA frames, then the trailers with `grpc-status` — or a
/// trailers-only response, whose single HEADERS frame carries the status.
///
/// A pure state machine: the client handler feeds it the stream's frames and acts on what it
/// returns.
struct GRPCResponseParser {
    /// How the response ended.
    enum Outcome: Equatable {
        /// OK with the response message.
        case message([UInt8])
        /// A status other than OK: the server's, or one the protocol derives from a broken
        /// response (a non-200 HTTP status, a missing `grpc-status`, a truncated message).
        case status(GRPCStatus)
        /// The message is larger than the limit; the rest of the stream is not wanted.
        case tooLarge(limit: Int)
    }

    private enum State {
        case awaitingHeaders
        case receivingMessage
        case done
    }

    let maximumMessageBytes: Int
    private var state = State.awaitingHeaders
    /// The length-prefixed message as received so far.
    private var buffer: ByteBuffer?

    init(maximumMessageBytes: Int) {
        self.maximumMessageBytes = maximumMessageBytes
    }

    /// A HEADERS frame on the call's stream. Returns the outcome once the response is complete.
    mutating func headers(_ headers: HPACKHeaders, endStream: Bool) -> Outcome? {
        switch state {
        case .awaitingHeaders:
            if let status = headers.first(name: ":status"), status != "200" {
                state = .done
                let code = Int(status) ?? 0
                return .status(
                    GRPCStatus(code: .forHTTPStatus(code), message: "HTTP status \(status) from the upstream"))
            }
            if let contentType = headers.first(name: "content-type"), !contentType.hasPrefix("application/grpc") {
                state = .done
                return .status(
                    GRPCStatus(code: .unknown, message: "response content-type is \(contentType), not application/grpc")
                )
            }
            guard endStream else {
                state = .receivingMessage
                return nil
            }
            // Trailers-only: the status is in this one HEADERS frame.
            state = .done
            return .status(
                Self.status(in: headers) ?? GRPCStatus(code: .unknown, message: "response has no grpc-status"))
        case .receivingMessage:
            state = .done
            guard let status = Self.status(in: headers) else {
                return .status(GRPCStatus(code: .unknown, message: "response trailers have no grpc-status"))
            }
            guard status.code == .ok else { return .status(status) }
            return finishMessage()
        case .done:
            return nil
        }
    }

    /// A DATA frame on the call's stream.
    mutating func data(_ bytes: ByteBuffer, endStream: Bool) -> Outcome? {
        guard case .receivingMessage = state else {
            if case .awaitingHeaders = state {
                state = .done
                return .status(GRPCStatus(code: .internalError, message: "response DATA before its HEADERS"))
            }
            return nil
        }
        if buffer == nil {
            buffer = bytes
        } else {
            var bytes = bytes
            buffer!.writeBuffer(&bytes)
        }
        if let buffer, let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self) {
            if Int(length) > maximumMessageBytes {
                state = .done
                return .tooLarge(limit: maximumMessageBytes)
            }
            if buffer.readableBytes > 5 + Int(length) {
                state = .done
                return .status(GRPCStatus(code: .internalError, message: "more than one message in a unary response"))
            }
        }
        if endStream {
            state = .done
            return .status(GRPCStatus(code: .internalError, message: "response ended without trailers"))
        }
        return nil
    }

    /// The OK outcome's message, or why the bytes received are not one whole message.
    private func finishMessage() -> Outcome {
        guard let buffer, buffer.readableBytes >= 5,
            let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self)
        else {
            return .status(GRPCStatus(code: .internalError, message: "OK response without a message"))
        }
        guard flag == 0 else {
            return .status(
                GRPCStatus(code: .internalError, message: "compressed response message (none was asked for)"))
        }
        guard buffer.readableBytes == 5 + Int(length),
            let message = buffer.getBytes(at: buffer.readerIndex + 5, length: Int(length))
        else {
            return .status(GRPCStatus(code: .internalError, message: "response message is truncated"))
        }
        return .message(message)
    }

    /// `grpc-status` and the percent-decoded `grpc-message`, when the headers carry a status.
    static func status(in headers: HPACKHeaders) -> GRPCStatus? {
        guard let text = headers.first(name: "grpc-status") else { return nil }
        guard let code = Int(text) else {
            return GRPCStatus(code: .unknown, message: "grpc-status '\(text)' is not a number")
        }
        return GRPCStatus(
            code: GRPCStatusCode(rawValue: code), message: percentDecoded(headers.first(name: "grpc-message") ?? ""))
    }

    /// `grpc-message` is percent-encoded UTF-8; a malformed escape is kept as it is.
    static func percentDecoded(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "%"), index + 2 < utf8.count,
                let high = hexValue(utf8[index + 1]), let low = hexValue(utf8[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
