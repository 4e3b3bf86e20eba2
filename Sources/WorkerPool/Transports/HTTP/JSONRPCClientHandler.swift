import NIOCore

/// Errors the pipeline raises for a call; the connection classifies them.
enum JSONRPCClientError: Error {
    /// The call's deadline passed; the connection was closed because its state is unknown.
    case deadlineExceeded(Duration)
    /// The response body exceeded the configured cap; the connection was closed.
    case responseTooLarge(limit: Int)
    /// The connection closed before the response was complete (or before the call was written).
    case closedBeforeResponse
}

/// Makes one JSON-RPC call at a time on its connection, entirely on the connection's event loop:
/// writes the request framed as an HTTP/1.1 POST (`JSONRPCRequestFraming`) straight to the
/// connection, parses the response bytes (`HTTPResponseParser`), and resumes the waiting worker
/// with it.
///
/// A call is one continuation, resumed exactly once, by whichever comes first: the end of the
/// response, an error in the pipeline, the connection closing, the call's deadline, or the
/// worker's cancellation. Every one of those runs on the event loop, so this state needs no lock.
///
/// Why not NIO's `HTTPResponseDecoder`: it delivers every response as three messages (head, body,
/// end) through `ByteToMessageHandler`, with a `String` for every header name and value, and it
/// must see a request head per call. A client of one call at a time needs the status, two or
/// three headers and the body, which a scan of the bytes gives for a fraction of the cost.
///
/// Why not `NIOAsyncChannel`: its outbound writer and inbound sequence each keep a lock, a state
/// machine and back-pressure bookkeeping per message, made for streams; a call is exactly one
/// request and one response, and with the worker running on this loop (see
/// `EventLoopTaskExecutor`) a continuation resumed here is all the hand-off a call needs.
final class JSONRPCClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    typealias Continuation = UnsafeContinuation<UpstreamHTTPResponse, any Error>

    private let framing: JSONRPCRequestFraming
    private let maximumResponseBytes: Int
    /// The framed request, reused from call to call.
    private var request = ByteBuffer()
    private var context: ChannelHandlerContext?
    /// The worker waiting for the response to the request in flight.
    private var pending: Continuation?
    /// The first error (or close) the connection met: every later call fails with it at once.
    private var failure: (any Error)?
    /// Reads the response to the request in flight, from bytes as they arrive.
    private var parser: HTTPResponseParser
    /// The deadline of the call in flight, and its timeout for the error message.
    private var callDeadline: NIODeadline?
    private var callTimeout: Duration = .zero
    /// One timer per connection, not one per call.
    private var deadlineTimer = LazyDeadlineTimer()

    init(url: UpstreamURL, headers: [UpstreamHeader] = [], maximumResponseBytes: Int) {
        self.framing = JSONRPCRequestFraming(url: url, headers: headers)
        self.maximumResponseBytes = maximumResponseBytes
        self.parser = HTTPResponseParser(maximumBodyBytes: maximumResponseBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(JSONRPCClientError.closedBeforeResponse, close: false)
        self.context = nil
    }

    /// Writes the request for `job` and resumes `continuation` with the response, or with the
    /// error that ended the call. Called on the event loop, one call at a time.
    func send(_ job: RPCJob, continuation: Continuation) {
        guard let context, failure == nil, context.channel.isActive else {
            continuation.resume(throwing: failure ?? JSONRPCClientError.closedBeforeResponse)
            return
        }
        precondition(pending == nil, "a connection carries one call at a time")
        // Set before writing: a failing write can close the channel (and so end the call) from
        // inside `write`.
        pending = continuation
        parser.expectResponse()

        framing.frame(job, into: &request)
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
        if pending != nil {
            armDeadline(job.timeout, context: context)
        }
    }

    /// Ends the call in flight with `CancellationError` and closes the connection (its state is
    /// unknown); later calls fail at once. Called on the event loop.
    func cancel() {
        fail(CancellationError(), close: true)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After a failure the connection is closing: what still arrives is discarded.
        guard failure == nil else { return }
        var bytes = unwrapInboundIn(data)
        do throws(HTTPResponseParserError) {
            guard var response = try parser.parse(&bytes) else { return }
            // Bytes after the response answer no request. The response itself is whole, so it
            // stands, but the connection is not reused.
            let unsolicited = bytes.readableBytes > 0
            if unsolicited { response.keepAlive = false }
            complete(response)
            if unsolicited { _ = try parser.parse(&bytes) }
        } catch {
            // The cap keeps its own error, which the breaker does not count.
            if error.code == .bodyTooLarge {
                fail(JSONRPCClientError.responseTooLarge(limit: maximumResponseBytes), close: true)
            } else {
                fail(error, close: true)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, close: true)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadlineTimer.cancel()
        // A body without a length ends with the connection.
        if failure == nil, let response = parser.connectionClosed() {
            complete(response)
        }
        fail(JSONRPCClientError.closedBeforeResponse, close: false)
        context.fireChannelInactive()
    }

    /// Ends the call in flight with its response.
    private func complete(_ response: UpstreamHTTPResponse) {
        callDeadline = nil
        guard let pending else { return }
        self.pending = nil
        pending.resume(returning: response)
    }

    /// Remembers the connection's first failure, ends the call in flight with `error`, and
    /// closes the connection when asked.
    private func fail(_ error: any Error, close: Bool) {
        if failure == nil { failure = error }
        callDeadline = nil
        if let pending {
            self.pending = nil
            pending.resume(throwing: error)
        }
        if close, let context, context.channel.isActive {
            context.close(promise: nil)
        }
    }

    /// Starts the clock on the call just written (see `LazyDeadlineTimer`).
    private func armDeadline(_ timeout: Duration, context: ChannelHandlerContext) {
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        callDeadline = deadline
        callTimeout = timeout
        deadlineTimer.arm(at: deadline, on: context.eventLoop) { timerCallback(context: context) }
    }

    private func timerCallback(context: ChannelHandlerContext) -> @Sendable () -> Void {
        LazyDeadlineTimer.callback(for: self, context: context) { $0.timerFired(context: $1) }
    }

    private func timerFired(context: ChannelHandlerContext) {
        deadlineTimer.fired()
        // No call in flight: the next call arms the timer again.
        guard let callDeadline else { return }
        if callDeadline <= .now() {
            fail(JSONRPCClientError.deadlineExceeded(callTimeout), close: true)
        } else {
            deadlineTimer.schedule(at: callDeadline, on: context.eventLoop, fire: timerCallback(context: context))
        }
    }
}
