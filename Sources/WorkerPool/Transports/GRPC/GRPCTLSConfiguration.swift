import GRPCNIOTransportHTTP2Posix

/// TLS for `grpcs://` upstreams: the same files as for `https://` (`--ca-file`,
/// `--client-cert`, `--client-key`), all PEM.
public struct GRPCTLSConfiguration: Sendable {
    /// CA certificates to trust instead of the system's.
    public var caFile: String?
    /// Client certificate chain, for mutual TLS (with `clientKeyFile`).
    public var clientCertificateFile: String?
    /// Client private key, for mutual TLS.
    public var clientKeyFile: String?

    public init(caFile: String? = nil, clientCertificateFile: String? = nil, clientKeyFile: String? = nil) {
        self.caFile = caFile
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
    }

    func transportSecurity(serverHostname: String) -> HTTP2ClientTransport.Posix.TransportSecurity {
        .tls { tls in
            if let caFile {
                tls.trustRoots = .certificates([.file(path: caFile, format: .pem)])
            }
            if let clientCertificateFile, let clientKeyFile {
                tls.certificateChain = [.file(path: clientCertificateFile, format: .pem)]
                tls.privateKey = .file(path: clientKeyFile, format: .pem)
            }
        }
    }
}
