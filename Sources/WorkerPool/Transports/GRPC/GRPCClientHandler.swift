import NIOCore
import NIOHPACK
import NIOHTTP2

/// Makes one unary gRPC call at a time on its HTTP/2 connection, entirely on the connection's
/// event loop: writes the call's HEADERS and its one DATA frame straight to swift-nio-http2's
/// connection handler (which does HPACK, flow control on what we send, and answers PING and
/// SETTINGS), reads the response's frames (`GRPCResponseParser`), and resumes the waiting worker.
///
/// A call is one continuation, resumed exactly once, by whichever comes first: the end of the
/// response, a reset of its stream, a GOAWAY that excludes it, the connection closing or
/// failing, the call's deadline, or the worker's cancellation. All of them run on the event
/// loop, so this state needs no lock.
///
/// Why no stream channel per call (NIO's multiplexer): a child channel, its pipeline and its
/// promises per call are what a general client needs for concurrent streams; a worker makes one
/// call at a time, so the frames of that one stream are handled here directly. The same
/// handler keeps the connection a good peer: it gives back receive window as responses are read
/// (connection and stream), tells a server's ordinary pings from a flood
/// (`HTTP2ControlFrameGuard`), honours GOAWAY, and sends keepalive pings when asked to.
final class GRPCClientHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame
    typealias Continuation = UnsafeContinuation<GRPCCallResult, Never>

    private struct Call {
        var streamID: HTTP2StreamID
        var continuation: Continuation
        var parser: GRPCResponseParser
        var deadline: NIODeadline
        var timeout: Duration
    }

    let flags: GRPCConnectionFlags
    private let settings: Settings
    /// Every header of a call but `:method`, `:scheme`, `:path`, `grpc-timeout` and
    /// `idempotency-key`: built once per connection.
    private let fixedHeaders: HPACKHeaders
    private let ready: EventLoopPromise<Void>
    private var context: ChannelHandlerContext?
    private var call: Call?
    private var nextStreamID = HTTP2StreamID(1)
    /// The first failure of the connection (or its close): no call is sent after it.
    private var failure: (any Error)?
    /// Set once the server sent GOAWAY: no new stream is opened.
    private var goAwayLastStreamID: HTTP2StreamID?
    private var isReady = false
    private var readyTimer: Scheduled<Void>?
    private var controlFrames = HTTP2ControlFrameGuard()
    private var requestBuffer = ByteBuffer()
    private var needsFlush = false
    /// One deadline timer per connection, re-armed lazily.
    private var deadlineTimer = LazyDeadlineTimer()
    private var keepaliveTimer: Scheduled<Void>?
    private var pingSentAt: NIODeadline?
    private var pingsSent: UInt64 = 0

    init(settings: Settings, flags: GRPCConnectionFlags, ready: EventLoopPromise<Void>) {
        self.settings = settings
        self.flags = flags
        self.ready = ready
        var headers = HPACKHeaders()
        headers.add(name: ":authority", value: settings.authority)
        headers.add(name: "content-type", value: "application/grpc")
        headers.add(name: "te", value: "trailers")
        for header in settings.metadata {
            headers.add(name: header.name.lowercased(), value: header.value)
        }
        self.fixedHeaders = headers
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        requestBuffer = context.channel.allocator.buffer(capacity: 256)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(GRPCConnectionError(message: "the connection closed"), close: false)
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        // NIO's handler (before this one) has written the preface and SETTINGS by now. A
        // connection's own window can only grow by WINDOW_UPDATE.
        let increment = settings.windowSize - Self.defaultWindowSize
        if increment > 0 {
            context.write(
                wrapOutboundOut(
                    HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))),
                promise: nil)
        }
        context.flush()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let timeout = settings.connectTimeout
        readyTimer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            bound.value.fail(
                GRPCConnectionError(message: "no HTTP/2 SETTINGS from the server within \(timeout)"), close: true)
        }
        if let keepalive = settings.keepalive {
            scheduleKeepalive(in: keepalive, context: context)
        }
        context.fireChannelActive()
    }

    /// Succeeds once the server's first SETTINGS frame arrived: the connection speaks HTTP/2.
    var readyFuture: EventLoopFuture<Void> { ready.futureResult }

    // MARK: Calls

    /// Sends `request` and resumes `continuation` with what it came to. Called on the event
    /// loop, one call at a time.
    func send(_ request: Request, continuation: Continuation) {
        guard let context, failure == nil, context.channel.isActive else {
            continuation.resume(returning: .refused("the connection closed before the call was sent"))
            return
        }
        guard goAwayLastStreamID == nil else {
            continuation.resume(returning: .refused("the upstream is closing the connection (GOAWAY)"))
            return
        }
        precondition(call == nil, "a connection carries one call at a time")
        let streamID = nextStreamID
        let next = Int32(Int(streamID) + 2)
        nextStreamID = HTTP2StreamID(next)
        // Stream ids are never reused: a connection that used them up is replaced.
        if next > Int32.max - 2 { flags.markUnusable() }

        var headers = HPACKHeaders()
        headers.reserveCapacity(fixedHeaders.count + 5)
        headers.add(name: ":method", value: "POST")
        headers.add(name: ":scheme", value: settings.scheme)
        headers.add(name: ":path", value: request.path)
        headers.add(contentsOf: fixedHeaders)
        headers.add(name: "grpc-timeout", value: GRPCCallDeadline.header(for: request.timeout))
        headers.add(name: "idempotency-key", value: request.idempotencyKey)

        requestBuffer.clear()
        requestBuffer.reserveCapacity(5 + request.message.count)
        requestBuffer.writeInteger(UInt8(0))
        requestBuffer.writeInteger(UInt32(request.message.count))
        requestBuffer.writeBytes(request.message)

        // Set before writing: a failing write can end the call from inside `write`.
        let deadline = NIODeadline.now() + TimeAmount(request.timeout)
        call = Call(
            streamID: streamID, continuation: continuation,
            parser: GRPCResponseParser(maximumMessageBytes: settings.maximumResponseBytes), deadline: deadline,
            timeout: request.timeout)
        context.write(
            wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: headers)))), promise: nil)
        context.writeAndFlush(
            wrapOutboundOut(
                HTTP2Frame(streamID: streamID, payload: .data(.init(data: .byteBuffer(requestBuffer), endStream: true)))
            ),
            promise: nil)
        if call != nil { armDeadline(deadline, context: context) }
    }

    /// Ends the call in flight as cancelled and closes the connection; later calls are not sent.
    /// Called on the event loop.
    func cancel() {
        complete(.cancelled)
        fail(CancellationError(), close: true)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            guard frame.streamID == call?.streamID else { return }
            controlFrames.callFrameReceived()
            if let outcome = call!.parser.headers(headers.headers, endStream: headers.endStream) {
                finish(outcome, streamEnded: headers.endStream, context: context)
            }
        case .data(let data):
            guard frame.streamID == call?.streamID, case .byteBuffer(let bytes) = data.data else { return }
            controlFrames.callFrameReceived()
            if let outcome = call!.parser.data(bytes, endStream: data.endStream) {
                finish(outcome, streamEnded: data.endStream, context: context)
            }
        case .rstStream(let code):
            guard frame.streamID == call?.streamID else { return }
            if code == .refusedStream {
                complete(.refused("the upstream refused the stream (REFUSED_STREAM)"))
            } else {
                complete(.broken(GRPCConnectionError(message: "the upstream reset the stream (\(code))")))
            }
        case .settings(.settings):
            guard controlFrameAllowed(context: context) else { return }
            if !isReady {
                isReady = true
                readyTimer?.cancel()
                readyTimer = nil
                ready.succeed()
            }
        case .ping(_, ack: false):
            // NIO's handler has already answered it.
            _ = controlFrameAllowed(context: context)
        case .ping(let data, ack: true):
            if pingSentAt != nil, data == HTTP2PingData(withInteger: pingsSent) {
                pingSentAt = nil
                keepaliveTimer?.cancel()
                if let keepalive = settings.keepalive { scheduleKeepalive(in: keepalive, context: context) }
            }
        case .goAway(let lastStreamID, _, _):
            goAway(lastStreamID: lastStreamID, context: context)
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let event as NIOHTTP2WindowUpdatedEvent:
            // Give back receive window once half of it is used, so a long response never waits.
            if let size = event.inboundWindowSize, size <= settings.windowSize / 2,
                event.streamID == .rootStream || event.streamID == call?.streamID
            {
                context.write(
                    wrapOutboundOut(
                        HTTP2Frame(
                            streamID: event.streamID,
                            payload: .windowUpdate(windowSizeIncrement: settings.windowSize - size))),
                    promise: nil)
                needsFlush = true
            }
        case let event as StreamClosedEvent:
            if event.streamID == call?.streamID {
                if event.reason == .refusedStream {
                    complete(.refused("the upstream refused the stream (REFUSED_STREAM)"))
                } else {
                    complete(.broken(GRPCConnectionError(message: "the stream closed before the response")))
                }
            }
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            // An error on one stream (NIO has reset it): only the call on it, if still in
            // flight, ends. The connection goes on.
            guard streamError.streamID == call?.streamID else { return }
            if streamError.baseError is NIOHTTP2Errors.CreatedStreamAfterGoaway {
                complete(.refused("the upstream is closing the connection (GOAWAY)"))
            } else {
                complete(.broken(streamError.baseError))
            }
            return
        }
        fail(error, close: true)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(GRPCConnectionError(message: "the connection closed"), close: false)
        context.fireChannelInactive()
    }

    // MARK: Connection events

    /// The server will open no more streams: the call in flight runs to its end unless its
    /// stream is above `lastStreamID` (then the server never processed it), and the connection
    /// is not reused.
    private func goAway(lastStreamID: HTTP2StreamID, context: ChannelHandlerContext) {
        flags.markUnusable()
        goAwayLastStreamID = lastStreamID
        if let call, call.streamID > lastStreamID {
            complete(.refused("the upstream refused the call (GOAWAY, last stream \(lastStreamID))"))
        }
        // Nothing left to wait for: close now rather than when the worker next looks.
        if call == nil {
            fail(GRPCConnectionError(message: "the upstream closed the connection (GOAWAY)"), close: true)
        }
    }

    /// Counts a PING or SETTINGS frame; a flood closes the connection with ENHANCE_YOUR_CALM.
    private func controlFrameAllowed(context: ChannelHandlerContext) -> Bool {
        if controlFrames.controlFrameReceived(at: .now()) { return true }
        context.writeAndFlush(
            wrapOutboundOut(
                HTTP2Frame(
                    streamID: .rootStream,
                    payload: .goAway(lastStreamID: .rootStream, errorCode: .enhanceYourCalm, opaqueData: nil))),
            promise: nil)
        fail(GRPCConnectionError(message: "the upstream flooded the connection with PING/SETTINGS frames"), close: true)
        return false
    }

    private func finish(_ outcome: GRPCResponseParser.Outcome, streamEnded: Bool, context: ChannelHandlerContext) {
        guard let streamID = call?.streamID else { return }
        // Completed before the reset: NIO reports the stream's close from inside the write.
        complete(.answered(outcome))
        if !streamEnded {
            // The rest of the response is not wanted (too large, or not a gRPC response).
            context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .rstStream(.cancel))), promise: nil)
            needsFlush = true
        }
    }

    /// Ends the call in flight, if any, with `result`.
    private func complete(_ result: GRPCCallResult) {
        guard let call else { return }
        self.call = nil
        call.continuation.resume(returning: result)
    }

    /// Remembers the connection's first failure, ends the call in flight, and closes the
    /// connection when asked.
    private func fail(_ error: any Error, close: Bool) {
        flags.markUnusable()
        if failure == nil { failure = error }
        readyTimer?.cancel()
        readyTimer = nil
        keepaliveTimer?.cancel()
        keepaliveTimer = nil
        deadlineTimer.cancel()
        if !isReady {
            isReady = true
            ready.fail(error)
        }
        complete(.broken(error))
        if close, let context, context.channel.isActive {
            context.close(promise: nil)
        }
    }

    // MARK: Timers

    /// Starts the clock on the call just written (see `LazyDeadlineTimer`).
    private func armDeadline(_ deadline: NIODeadline, context: ChannelHandlerContext) {
        deadlineTimer.arm(at: deadline, on: context.eventLoop) { timerCallback(context: context) }
    }

    private func timerCallback(context: ChannelHandlerContext) -> @Sendable () -> Void {
        LazyDeadlineTimer.callback(for: self, context: context) { $0.timerFired(context: $1) }
    }

    private func timerFired(context: ChannelHandlerContext) {
        deadlineTimer.fired()
        guard let call else { return }
        if call.deadline <= .now() {
            // The stream is reset after the call ends (NIO reports the close from inside the
            // write); the connection stays up for the next call.
            complete(.deadlineExceeded(call.timeout))
            context.writeAndFlush(
                wrapOutboundOut(HTTP2Frame(streamID: call.streamID, payload: .rstStream(.cancel))), promise: nil)
        } else {
            deadlineTimer.schedule(at: call.deadline, on: context.eventLoop, fire: timerCallback(context: context))
        }
    }

    private func scheduleKeepalive(in delay: Duration, context: ChannelHandlerContext) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        keepaliveTimer = context.eventLoop.scheduleTask(in: TimeAmount(delay)) {
            let (handler, context) = bound.value
            handler.keepaliveFired(context: context)
        }
    }

    private func keepaliveFired(context: ChannelHandlerContext) {
        keepaliveTimer = nil
        guard failure == nil else { return }
        if pingSentAt != nil {
            fail(
                GRPCConnectionError(message: "no keepalive PING ACK within \(settings.keepaliveTimeout)"), close: true)
            return
        }
        pingsSent += 1
        pingSentAt = .now()
        context.writeAndFlush(
            wrapOutboundOut(
                HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: pingsSent), ack: false))),
            promise: nil)
        scheduleKeepalive(in: settings.keepaliveTimeout, context: context)
    }
}
