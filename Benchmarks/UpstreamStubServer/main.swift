import NIOPosix
import UpstreamStub

#if canImport(Glibc)
    import Glibc
#endif

// A fast keep-alive JSON-RPC upstream for the benchmarks: answers every call with a small
// result. Usage: dispatcher-upstream-stub [PORT] [THREADS] [arrivals] [--tls CERT KEY]
// Prints the port, then serves until killed. With `arrivals`, also prints "<id> <µs since the
// epoch>" for every request, for measuring enqueue-to-start latency across processes. With
// `--tls`, serves HTTPS with the given PEM certificate and key.
// `dispatcher-upstream-stub grpc [PORT]` serves gRPC instead: fixtures.v1.KitchenService/Echo
// and stub.v1.Stub/Call, both echoing the request message, from a lean server on swift-nio-http2
// (RawGRPCEchoServer); `grpc-stub [PORT]` serves the same from the tests' recording stub
// (GRPCUpstreamStub).
var arguments = CommandLine.arguments
let grpcMethods = ["fixtures.v1.KitchenService/Echo", "stub.v1.Stub/Call"]
if arguments.count > 1 && arguments[1] == "grpc" {
    let port = try await RawGRPCEchoServer.start(
        port: arguments.count > 2 ? Int(arguments[2]) ?? 0 : 0, methods: Set(grpcMethods),
        group: MultiThreadedEventLoopGroup.singleton)
    printLine(String(port))
    while true {
        try await Task.sleep(for: .seconds(3600))
    }
}
if arguments.count > 1 && arguments[1] == "grpc-stub" {
    let grpcStub = GRPCUpstreamStub(methods: grpcMethods)
    printLine(String(try await grpcStub.start(port: arguments.count > 2 ? Int(arguments[2]) ?? 0 : 0)))
    while true {
        try await Task.sleep(for: .seconds(3600))
    }
}
var tls: UpstreamStub.TLS?
if let flag = arguments.firstIndex(of: "--tls"), arguments.count > flag + 2 {
    tls = UpstreamStub.TLS(certificateFile: arguments[flag + 1], keyFile: arguments[flag + 2])
    arguments.removeSubrange(flag...(flag + 2))
}
let port = arguments.count > 1 ? Int(arguments[1]) ?? 0 : 0
let threads = arguments.count > 2 ? Int(arguments[2]) ?? 1 : 1
let logArrivals = arguments.count > 3 && arguments[3] == "arrivals"

/// Unbuffered, so a script reading through a pipe sees each line at once.
func printLine(_ text: String) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

let stub = UpstreamStub(group: MultiThreadedEventLoopGroup(numberOfThreads: threads)) { request in
    if logArrivals {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        printLine("\(request.id ?? -1) \(Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000)")
    }
    return .result("{\"echo\":\(request.id ?? -1)}")
}
printLine(String(try await stub.start(host: "127.0.0.1", port: port, tls: tls)))
while true {
    try await Task.sleep(for: .seconds(3600))
}
