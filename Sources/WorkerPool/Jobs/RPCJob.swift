/// One RPC call to make on the upstream: what a worker takes from the channel.
public struct RPCJob: Sendable {
    /// The job id; also the JSON-RPC `id` of the request, so responses can be matched.
    public var id: Int64
    /// The JSON-RPC method.
    public var method: String
    /// The params as raw JSON text (an object or array), or nil to omit them.
    public var params: [UInt8]?
    /// Sent as the `Idempotency-Key` header so the upstream can drop duplicates.
    public var idempotencyKey: String
    /// How long the call may take, from the moment the request is written.
    public var timeout: Duration
    /// Which attempt this is, starting at 1.
    public var attempt: Int
    /// The job's own attempt limit; nil means the queue's default.
    public var maxAttempts: Int64?

    public init(
        id: Int64, method: String, params: [UInt8]?, idempotencyKey: String? = nil, timeout: Duration,
        attempt: Int = 1, maxAttempts: Int64? = nil
    ) {
        self.maxAttempts = maxAttempts
        self.id = id
        self.method = method
        self.params = params
        self.idempotencyKey = idempotencyKey ?? String(id)
        self.timeout = timeout
        self.attempt = attempt
    }
}
