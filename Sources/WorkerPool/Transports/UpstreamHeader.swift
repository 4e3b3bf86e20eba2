/// One header sent with every call to an upstream: an HTTP request header for `http`/`https`,
/// gRPC metadata for `grpc`/`grpcs` (whose names the transport sends lower-cased).
///
/// Values are secrets as often as not (`Authorization`, API keys): nothing in WorkerPool logs or
/// describes a value, and `description` shows only the name.
public struct UpstreamHeader: Sendable, Hashable, CustomStringConvertible {
    /// The header's name as configured (validated by the daemon before a transport sees it).
    public var name: String
    /// The header's value, secrets already resolved.
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name): ***" }
}
