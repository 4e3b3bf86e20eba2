import Foundation
import Testing

@testable import WorkerPool

@Suite("TLS connect against a silent peer")
struct TLSHandshakeTimeoutTests {
    /// A listening socket that never accepts: the kernel completes TCP handshakes, and then
    /// nothing is ever said — the peer a stuck load balancer or a wrong port looks like.
    final class SilentListener {
        let descriptor: Int32
        let port: Int

        init() throws {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ready = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, length) == 0 && listen(descriptor, 16) == 0
                        && getsockname(descriptor, $0, &length) == 0
                }
            }
            guard ready else {
                close(descriptor)
                throw CallFailure.permanent("could not listen")
            }
            self.descriptor = descriptor
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        deinit { close(descriptor) }
    }

    @Test func theHandshakeIsBoundedByTheConnectTimeout() async throws {
        let listener = try SilentListener()
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/TLS")
        var configuration = HTTPJSONRPCTransport.Configuration(
            url: try UpstreamURL(parsing: "https://127.0.0.1:\(listener.port)/"))
        configuration.tls = UpstreamTLSConfiguration(caFile: fixtures.appendingPathComponent("ca.pem").path)
        configuration.connectTimeout = .milliseconds(300)
        let transport = try HTTPJSONRPCTransport(configuration: configuration)
        let start = ContinuousClock.now
        await #expect {
            try await transport.withConnection { _ in true }
        } throws: { error in
            "\(error)".contains("no TLS handshake within 300 ms")
        }
        #expect(ContinuousClock.now - start < .seconds(10), "bounded, not stuck")
    }
}
