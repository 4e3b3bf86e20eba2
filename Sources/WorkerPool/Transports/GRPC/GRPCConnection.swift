import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore

/// One worker's gRPC client and its single HTTP/2 connection.
public struct GRPCConnection: UpstreamConnection {
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let watch: GRPCConnectionWatch
    let codec: GRPCMessageCodec
    let maximumResponseBytes: Int
    /// The configured metadata, names lower-cased, sent with every call.
    let metadata: [(name: String, value: String)]
    /// The connection's event loop: it times the calls' deadlines.
    let eventLoop: any EventLoop
    /// Runs each call on that event loop, as the worker runs.
    let executor: any TaskExecutor

    public var isReusable: Bool { !watch.isBroken }

    nonisolated(nonsending) public mutating func call(_ job: RPCJob) async -> CallOutcome {
        guard let descriptor = Self.descriptor(job.method) else {
            return .failed(.permanent("method must be package.Service/Method (got '\(job.method)')"))
        }
        let method = "\(descriptor.service.fullyQualifiedService)/\(descriptor.method)"
        let request: [UInt8]
        switch codec.encodeRequest(method: method, params: job.params) {
        case .success(let message): request = message
        case .failure(let failure): return .failed(failure)
        }
        // A lost connection is never replaced inside the client; the worker opens a new one.
        guard !watch.isBroken else { return .failed(.retryable("gRPC connection closed")) }
        // The deadline is sent and enforced by GRPCCallDeadline, not by CallOptions.timeout.
        var options = CallOptions.defaults
        options.waitForReady = false
        options.maxResponseMessageBytes = maximumResponseBytes
        var metadata = Metadata()
        for (name, value) in self.metadata { metadata.addString(value, forKey: name) }
        metadata.addString(job.idempotencyKey, forKey: "idempotency-key")
        metadata.addString(GRPCCallDeadline.header(for: job.timeout), forKey: "grpc-timeout")
        let client = self.client
        let call = ClientRequest(message: request, metadata: metadata)
        let callOptions = options
        let (outcome, expired) = await GRPCCallDeadline.run(timeout: job.timeout, on: eventLoop, executor: executor) {
            try await client.unary(
                request: call, descriptor: descriptor, serializer: RawMessageSerializer(),
                deserializer: RawMessageDeserializer(), options: callOptions
            ) { response in try response.message }
        }
        if expired {
            return .failed(
                GRPCStatusClassifier.classify(
                    RPCError(code: .deadlineExceeded, message: "no response within \(job.timeout)")))
        }
        switch outcome {
        case .success(let response):
            switch codec.decodeResponse(method: method, message: response) {
            case .success(let result): return .succeeded(result: result)
            case .failure(let failure): return .failed(failure)
            }
        case .failure(let error as RPCError):
            if Task.isCancelled { return .failed(.retryable("call cancelled")) }
            return .failed(GRPCStatusClassifier.classify(error))
        case .failure(let error):
            if Task.isCancelled { return .failed(.retryable("call cancelled")) }
            return .failed(.retryable("gRPC call failed: \(error)"))
        }
    }

    /// `package.Service/Method`, with or without a leading `/`.
    static func descriptor(_ method: String) -> MethodDescriptor? {
        let path = method.hasPrefix("/") ? method.dropFirst() : Substring(method)
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return MethodDescriptor(fullyQualifiedService: String(parts[0]), method: String(parts[1]))
    }
}
