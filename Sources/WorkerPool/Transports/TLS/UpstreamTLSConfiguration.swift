import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// TLS settings for one upstream: trust roots besides the system's, and a client identity for
/// mutual TLS. Verification itself is not configurable: TLS 1.2 or newer, the system trust
/// store, SNI, and hostname verification (an IP literal is checked against the certificate's IP
/// SANs) are always on.
public struct UpstreamTLSConfiguration: Sendable, Equatable {
    /// A PEM file of CA certificates trusted in addition to the system's.
    public var caFile: String?
    /// A PEM file with the client certificate (and any intermediates), for mutual TLS.
    public var clientCertificateFile: String?
    /// A PEM file with the client certificate's private key.
    public var clientKeyFile: String?

    public init(caFile: String? = nil, clientCertificateFile: String? = nil, clientKeyFile: String? = nil) {
        self.caFile = caFile
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
    }

    /// Reads the PEM files and builds the client TLS context, once, at start.
    ///
    /// - Throws: `UpstreamTLSError` naming the file when one is unreadable or malformed, or
    ///   when only half of a client identity is given.
    public func makeContext() throws(UpstreamTLSError) -> NIOSSLContext {
        try makeContext(noticing: nil)
    }

    /// `makeContext()`, recording in `certificateRequests` when a server asks for a client
    /// certificate while none is configured, offering `applicationProtocols` by ALPN (`h2` for
    /// gRPC).
    func makeContext(
        noticing certificateRequests: ClientCertificateRequests?, applicationProtocols: [String] = ["http/1.1"]
    ) throws(UpstreamTLSError)
        -> NIOSSLContext
    {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        tls.trustRoots = .default
        tls.applicationProtocols = applicationProtocols
        if let caFile {
            tls.additionalTrustRoots = [.certificates(try Self.certificates(in: caFile, what: "CA file"))]
        }
        switch (clientCertificateFile, clientKeyFile) {
        case (nil, nil):
            if let certificateRequests {
                // BoringSSL calls this on a client only when the server sent a CertificateRequest.
                tls.sslContextCallback = { _, promise in
                    certificateRequests.record()
                    promise.succeed(.noChanges)
                }
            }
        case (let certificate?, let key?):
            tls.certificateChain = try Self.certificates(in: certificate, what: "client certificate").map {
                .certificate($0)
            }
            tls.privateKey = .privateKey(try Self.privateKey(in: key))
        case (nil, _?):
            throw UpstreamTLSError("a client key needs a client certificate (--client-cert)")
        case (_?, nil):
            throw UpstreamTLSError("a client certificate needs its key (--client-key)")
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw UpstreamTLSError("cannot set up TLS: \(error)")
        }
    }

    static func certificates(in path: String, what: String) throws(UpstreamTLSError) -> [NIOSSLCertificate] {
        let bytes = try read(path, what: what)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw UpstreamTLSError("\(what) \(path) is not a valid PEM certificate file")
        }
        guard !certificates.isEmpty else {
            throw UpstreamTLSError("\(what) \(path) holds no PEM certificate")
        }
        return certificates
    }

    static func privateKey(in path: String) throws(UpstreamTLSError) -> NIOSSLPrivateKey {
        let bytes = try read(path, what: "client key")
        do {
            return try NIOSSLPrivateKey(bytes: bytes, format: .pem)
        } catch {
            throw UpstreamTLSError("client key \(path) is not a valid PEM private key")
        }
    }

    private static func read(_ path: String, what: String) throws(UpstreamTLSError) -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw UpstreamTLSError("cannot read \(what) \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count {
                if ferror(file) != 0 {
                    throw UpstreamTLSError("cannot read \(what) \(path): \(String(cString: strerror(errno)))")
                }
                break
            }
            guard bytes.count <= 1 << 20 else { throw UpstreamTLSError("\(what) \(path) is larger than 1 MiB") }
        }
        return bytes
    }
}

/// Unusable TLS settings: the message names the file and what is wrong with it.
public struct UpstreamTLSError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
