import NIOSSL

/// Turns NIOSSL's handshake errors into the one-line cause an operator needs, such as
/// `certificate verify failed`.
enum TLSFailure {
    /// Whether `error` comes from the TLS layer (a handshake or an alert from the peer) rather
    /// than from the transport beneath it or from HTTP.
    static func isTLSRejection(_ error: any Error) -> Bool {
        switch error {
        case let error as NIOSSLError:
            // A peer that closes without close_notify is not a TLS-level rejection.
            if case .uncleanShutdown = error { return false }
            return true
        case is BoringSSLError, is NIOSSLExtraError:
            return true
        default:
            return false
        }
    }

    /// A short cause for logs and `last_error`.
    static func describe(_ error: any Error, host: String) -> String {
        let text = reason(in: String(describing: error))
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "TLS: hostname mismatch: the certificate is not valid for \(host)"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "TLS: certificate verify failed (unknown CA, expired or not yet valid)"
        }
        if text.contains("CERTIFICATE_REQUIRED") {
            return "TLS: the server requires a client certificate (\(text))"
        }
        if text.contains("ALERT") {
            return "TLS: the server rejected the handshake: \(text)"
        }
        return "TLS handshake failed: \(text)"
    }

    /// BoringSSL's reason code (`CERTIFICATE_VERIFY_FAILED`) when the text carries one; the
    /// rest of its error text (source file and line) means nothing to an operator.
    private static func reason(in text: String) -> String {
        guard let marker = text.firstRange(of: "OPENSSL_internal:") else { return text }
        return String(text[marker.upperBound...].prefix { $0 != " " && $0 != ")" && $0 != "]" })
    }
}

/// A TLS handshake that failed: a connect failure, with the cause as its description.
struct TLSConnectError: Error, CustomStringConvertible {
    var cause: String
    var description: String { cause }
}
