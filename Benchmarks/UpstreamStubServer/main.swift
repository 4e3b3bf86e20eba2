import NIOPosix
import UpstreamStub

#if canImport(Glibc)
import Glibc
#endif

// A fast keep-alive JSON-RPC upstream for the benchmarks: answers every call with a small
// result. Usage: dispatcher-upstream-stub [PORT] [THREADS]; prints the port, serves until killed.
let arguments = CommandLine.arguments
let port = arguments.count > 1 ? Int(arguments[1]) ?? 0 : 0
let threads = arguments.count > 2 ? Int(arguments[2]) ?? 1 : 1
let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let stub = UpstreamStub(group: group)
let bound = try await stub.start(host: "127.0.0.1", port: port)
// Unbuffered, so a script reading the port through a pipe sees it at once.
let line = Array("\(bound)\n".utf8)
_ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
while true {
    try await Task.sleep(for: .seconds(3600))
}
