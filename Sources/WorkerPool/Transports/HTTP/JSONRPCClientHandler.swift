import NIOCore
import NIOHTTP1

/// One JSON-RPC request as handed to the pipeline.
struct JSONRPCRequest: Sendable {
    var job: RPCJob
}

/// One complete HTTP response, aggregated by `JSONRPCClientHandler`.
struct UpstreamHTTPResponse: Sendable {
    var status: Int
    /// False when the upstream asked to close the connection after this response.
    var keepAlive: Bool
    /// The raw `Retry-After` header, when present.
    var retryAfter: String?
    var body: ByteBuffer
}

/// Errors the pipeline raises for a call; the connection classifies them.
enum JSONRPCClientError: Error {
    /// The call's deadline passed; the connection was closed because its state is unknown.
    case deadlineExceeded(Duration)
    /// The response body exceeded the configured cap; the connection was closed.
    case responseTooLarge(limit: Int)
}

/// Frames JSON-RPC requests (encoded by `JSONRPCRequestEncoder`) as HTTP/1.1 POSTs and aggregates HTTP responses into one value each,
/// enforcing the call deadline and the response size cap on the event loop itself (no
/// cross-thread timer per call).
final class JSONRPCClientHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias InboundOut = UpstreamHTTPResponse
    typealias OutboundIn = JSONRPCRequest
    typealias OutboundOut = HTTPClientRequestPart

    private let path: String
    private let hostHeader: String
    private let maximumResponseBytes: Int
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    private var discarding = false
    private var deadline: Scheduled<Void>?

    init(url: UpstreamURL, maximumResponseBytes: Int) {
        self.path = url.path
        self.hostHeader = url.authority
        self.maximumResponseBytes = maximumResponseBytes
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let job = unwrapOutboundIn(data).job
        var buffer = context.channel.allocator.buffer(capacity: JSONRPCRequestEncoder.estimatedSize(of: job))
        JSONRPCRequestEncoder.encode(job, into: &buffer)

        var headers = HTTPHeaders()
        headers.reserveCapacity(5)
        headers.add(name: "Host", value: hostHeader)
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(buffer.readableBytes))
        headers.add(name: "Idempotency-Key", value: job.idempotencyKey)
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: promise)

        let timeout = job.timeout
        deadline?.cancel()
        // The timer fires on this handler's event loop, so the loop-bound handler and context
        // are only touched on their own thread.
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
            let (handler, context) = bound.value
            guard handler.deadline != nil else { return }
            handler.deadline = nil
            context.fireErrorCaught(JSONRPCClientError.deadlineExceeded(timeout))
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
            discarding = false
        case .body(var part):
            guard !discarding else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > maximumResponseBytes {
                discarding = true
                cancelDeadline()
                context.fireErrorCaught(JSONRPCClientError.responseTooLarge(limit: maximumResponseBytes))
                context.close(promise: nil)
                return
            }
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard !discarding, let head else { return }
            cancelDeadline()
            let response = UpstreamHTTPResponse(
                status: Int(head.status.code),
                keepAlive: head.isKeepAlive,
                retryAfter: head.headers.first(name: "Retry-After"),
                body: body ?? ByteBuffer()
            )
            self.head = nil
            body = nil
            context.fireChannelRead(wrapInboundOut(response))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadline()
        context.fireChannelInactive()
    }

    private func cancelDeadline() {
        deadline?.cancel()
        deadline = nil
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled + attoseconds / 1_000_000_000
    }
}
