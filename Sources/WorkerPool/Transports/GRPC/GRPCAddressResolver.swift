import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Turns a gRPC upstream's host into the addresses a worker tries, in order.
///
/// Pick-first: the transport tries each address in turn and keeps the first connection that
/// opens, so a refused first address (`localhost` → `::1` when the server listens on
/// `127.0.0.1` only) is passed over and the worker still holds exactly one connection.
struct GRPCAddressResolver: Sendable {
    /// The addresses for `host`, in the resolver's order (RFC 6724, as `getaddrinfo` sorts them),
    /// without duplicates. An IP address is its own single target; a name is resolved off the
    /// event loops, on NIO's blocking-I/O pool.
    var resolve: @Sendable (_ host: String, _ port: Int) async throws -> [SocketAddress] = {
        try await GRPCAddressResolver.system(host: $0, port: $1)
    }

    static func system(host: String, port: Int) async throws -> [SocketAddress] {
        if let literal = try? SocketAddress(ipAddress: host, port: port) { return [literal] }
        let addresses = try await NIOThreadPool.singleton.runIfActive { try lookUp(host: host, port: port) }
        return try addresses.map { try SocketAddress(ipAddress: $0.ip, port: port) }
    }

    /// `getaddrinfo` for TCP: each distinct address once, in the order returned.
    static func lookUp(host: String, port: Int) throws -> [(ip: String, isIPv6: Bool)] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0 else {
            throw GRPCConnectError(message: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var found: [(ip: String, isIPv6: Bool)] = []
        var entry = list
        while let info = entry?.pointee {
            entry = info.ai_next
            guard let address = info.ai_addr else { continue }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let isIPv6 = info.ai_family == AF_INET6
            let converted: UnsafePointer<CChar>? =
                isIPv6
                ? address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    withUnsafePointer(to: pointer.pointee.sin6_addr) {
                        inet_ntop(AF_INET6, $0, &text, socklen_t(text.count))
                    }
                }
                : address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    withUnsafePointer(to: pointer.pointee.sin_addr) {
                        inet_ntop(AF_INET, $0, &text, socklen_t(text.count))
                    }
                }
            guard converted != nil else { continue }
            let ip = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !found.contains(where: { $0.ip == ip }) { found.append((ip, isIPv6)) }
        }
        guard !found.isEmpty else { throw GRPCConnectError(message: "cannot resolve \(host): no address") }
        return found
    }
}
