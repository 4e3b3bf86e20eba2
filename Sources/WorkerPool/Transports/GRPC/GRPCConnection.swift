import NIOCore

/// One worker's HTTP/2 connection to a gRPC upstream, carrying one unary call at a time.
public struct GRPCConnection: UpstreamConnection {
    let channel: any Channel
    /// The pipeline's last handler, which makes the calls; touched only on the channel's loop.
    let handler: NIOLoopBound<GRPCClientHandler>
    let flags: GRPCConnectionFlags
    let codec: GRPCMessageCodec
    let host: String
    let usesTLS: Bool
    let openedAt = NIODeadline.now()
    public private(set) var rejection: String?
    /// Calls the server answered on this connection.
    var answered = 0
    /// Whether the last call on this connection was refused: two in a row are not free.
    private var lastWasRefused = false
    /// The last method's `:path`, kept because a worker's jobs mostly call one method.
    private var lastMethod = ""
    private var lastName = ""
    private var lastPath = ""

    /// A call the server provably did not run (GOAWAY, REFUSED_STREAM, or closed before it was
    /// sent) goes back to the queue without an attempt when the connection has proved itself:
    /// it answered a call, or it is older than this. A refusal on a younger connection that
    /// never answered, or two refusals in a row, count as a failed attempt instead, so a server
    /// that refuses everything is backed off from as any failing upstream is, never retried in
    /// a loop for free.
    static let settledAfter = TimeAmount.seconds(1)

    init(
        channel: any Channel, handler: NIOLoopBound<GRPCClientHandler>, flags: GRPCConnectionFlags,
        codec: GRPCMessageCodec, host: String, usesTLS: Bool
    ) {
        self.channel = channel
        self.handler = handler
        self.flags = flags
        self.codec = codec
        self.host = host
        self.usesTLS = usesTLS
    }

    public var isReusable: Bool { rejection == nil && flags.isReusable }

    nonisolated(nonsending) public mutating func call(_ job: RPCJob) async -> CallOutcome {
        if job.method != lastMethod {
            guard let method = Self.method(job.method) else {
                return .failed(.permanent("method must be package.Service/Method (got '\(job.method)')"))
            }
            lastMethod = job.method
            lastName = method
            lastPath = "/" + method
        }
        let method = lastName
        let message: [UInt8]
        switch codec.encodeRequest(method: method, params: job.params) {
        case .success(let encoded): message = encoded
        case .failure(let failure): return .failed(failure)
        }
        guard !job.idempotencyKey.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            return .failed(.permanent("idempotency key contains control characters"))
        }
        let request = GRPCClientHandler.Request(
            path: lastPath, message: message, timeout: job.timeout, idempotencyKey: job.idempotencyKey)
        let result = await exchange(request)
        if case .refused = result {} else { lastWasRefused = false }
        switch result {
        case .answered(.message(let response)):
            answered += 1
            switch codec.decodeResponse(method: method, message: response) {
            case .success(let result): return .succeeded(result: result)
            case .failure(let failure): return .failed(failure)
            }
        case .answered(.status(let status)):
            answered += 1
            return .failed(GRPCStatusClassifier.classify(status))
        case .answered(.tooLarge(let limit)):
            answered += 1
            return .failed(
                CallFailure(isRetryable: false, message: "response larger than \(limit) bytes", countsForBreaker: false)
            )
        case .refused(let reason):
            let free = !lastWasRefused && (answered > 0 || NIODeadline.now() - openedAt >= Self.settledAfter)
            lastWasRefused = true
            if free { return .notAttempted(.init(reason: reason)) }
            return .failed(GRPCStatusClassifier.classify(GRPCStatus(code: .unavailable, message: reason)))
        case .deadlineExceeded(let timeout):
            return .failed(
                GRPCStatusClassifier.classify(
                    GRPCStatus(code: .deadlineExceeded, message: "no response within \(timeout)")))
        case .cancelled:
            return .failed(.retryable("call cancelled"))
        case .broken(let error):
            // A TLS 1.3 server checks the client certificate after the client's side of the
            // handshake is done, so a refusal arrives as an alert on the first call: the call
            // never reached the application, and the connect, not the call, has failed.
            if usesTLS, answered == 0, TLSFailure.isTLSRejection(error) {
                let cause = TLSFailure.describe(error, host: host)
                rejection = cause
                return .notAttempted(.init(reason: cause))
            }
            if error is CancellationError { return .failed(.retryable("call cancelled")) }
            return .failed(GRPCStatusClassifier.classify(GRPCStatus(code: .unavailable, message: "\(error)")))
        }
    }

    /// Makes the call on the channel's event loop. The worker runs there (see
    /// `EventLoopTaskExecutor`), so the handler is called directly; the hop through `execute` is
    /// only a fallback for a caller on another thread. Cancellation is watched for the whole
    /// connection (see `GRPCTransport.connect`).
    nonisolated(nonsending) private func exchange(_ request: GRPCClientHandler.Request) async -> GRPCCallResult {
        let handler = self.handler
        let eventLoop = channel.eventLoop
        return await withUnsafeContinuation { continuation in
            if eventLoop.inEventLoop {
                handler.value.send(request, continuation: continuation)
            } else {
                eventLoop.execute { handler.value.send(request, continuation: continuation) }
            }
        }
    }

    /// `package.Service/Method` from a job's method, with or without a leading `/`; nil when it
    /// is not of that form.
    static func method(_ method: String) -> String? {
        let path = method.hasPrefix("/") ? method.dropFirst() : Substring(method)
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return String(path)
    }
}
