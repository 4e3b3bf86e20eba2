import NIOCore
import Testing

@testable import WorkerPool

/// What a call may carry to the upstream and how its answer is read: configured headers, basic
/// auth, the framing check every job passes, and JSON-RPC errors whatever the HTTP status.
@Suite("upstream requests")
struct UpstreamRequestTests {
    @Test func basicAuthIsTheBase64OfUserColonPassword() {
        let header = UpstreamHeader.basicAuthorization(.init(user: "Aladdin", password: "open sesame"))
        #expect(header.name == "Authorization")
        #expect(header.value == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        #expect(header.description == "Authorization: ***")
    }

    @Test func configuredHeadersAreFramedOnceIntoEveryRequest() {
        let url = UpstreamURL(host: "127.0.0.1", port: 8545, path: "/rpc")
        let framing = JSONRPCRequestFraming(
            url: url,
            headers: [.init(name: "Authorization", value: "Bearer t0k"), .init(name: "X-Api-Key", value: "k")])
        var request = ByteBuffer()
        framing.frame(RPCJob(id: 7, method: "m", params: nil, timeout: .seconds(1)), into: &request)
        let body = "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":7}"
        #expect(
            String(buffer: request)
                == "POST /rpc HTTP/1.1\r\nHost: 127.0.0.1:8545\r\nContent-Type: application/json\r\n"
                + "Authorization: Bearer t0k\r\nX-Api-Key: k\r\nIdempotency-Key: 7\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
    }

    @Test(arguments: [
        ("X-Api-Key", "abc", UpstreamURL.Scheme.http, true),
        ("Authorization", "Bearer x", .grpc, true),
        ("X-Bad", "a\r\nInjected: 1", .http, false),
        ("X-Bad", "a\nb", .https, false),
        ("X-Bad", "a\u{0}b", .http, false),
        ("X-Bad\r\nInjected", "a", .http, false),
        ("Bad Name", "a", .http, false),
        ("", "a", .http, false),
        ("Host", "evil", .http, false),
        ("content-length", "1", .https, false),
        ("Content-Type", "text/plain", .http, false),
        ("Transfer-Encoding", "chunked", .http, false),
        ("Connection", "close", .http, false),
        ("Idempotency-Key", "k", .http, false),
        (":path", "/x", .grpc, false),
        ("grpc-timeout", "1S", .grpc, false),
        ("Grpc-Encoding", "gzip", .grpcs, false),
        ("te", "trailers", .grpc, false),
        ("content-type", "application/grpc", .grpc, false),
        ("Connection", "keep-alive", .grpc, false),
        ("x-trace-bin", "AAEC", .grpc, false),
        ("X-Name", "café", .grpc, false),
        ("X-Name", "café", .http, true),
        ("X-Tab", "a\tb", .http, true),
    ])
    func headersAreCheckedForTheTransportThatSendsThem(
        name: String, value: String, scheme: UpstreamURL.Scheme, accepted: Bool
    ) {
        let header = UpstreamHeader(name: name, value: value)
        if accepted {
            #expect(throws: Never.self) { try header.validate(for: scheme) }
        } else {
            do {
                try header.validate(for: scheme)
                Issue.record("\(name) accepted for \(scheme)")
            } catch {
                // The message may name the header, never its value.
                #expect(value.count < 3 || !error.message.contains(value))
            }
        }
    }

    @Test(arguments: [
        ("{\"a\":1}", nil),
        ("[1,2]", nil),
        (" {} ", nil),
        ("{\"marker\":\"inj\"},\"method\":\"admin.deleteEverything\"", "params are not valid JSON: "),
        ("{not json", "params are not valid JSON: "),
        ("42", "params must be a JSON object or array"),
        ("\"text\"", "params must be a JSON object or array"),
        ("", "params are not valid JSON: "),
    ])
    func onlyOneJSONObjectOrArrayIsFramed(params: String, problem: String?) {
        let job = RPCJob(id: 1, method: "m", params: Array(params.utf8), timeout: .seconds(1))
        if let problem {
            #expect(job.framingProblem?.hasPrefix(problem) == true, "\(job.framingProblem ?? "nil")")
        } else {
            #expect(job.framingProblem == nil)
        }
    }

    @Test func methodsAndKeysWithControlCharactersAreNeverFramed() {
        #expect(RPCJob(id: 1, method: "m\r\nX: y", params: nil, timeout: .seconds(1)).framingProblem != nil)
        #expect(
            RPCJob(id: 1, method: "m", params: nil, idempotencyKey: "k\n", timeout: .seconds(1)).framingProblem != nil)
        #expect(RPCJob(id: 1, method: "näme \"quoted\"", params: nil, timeout: .seconds(1)).framingProblem == nil)
    }

    static func response(_ status: Int, _ body: String, retryAfter: String? = nil) -> UpstreamHTTPResponse {
        UpstreamHTTPResponse(status: status, keepAlive: true, retryAfter: retryAfter, body: ByteBuffer(string: body))
    }

    static func error(_ code: Int, id: Int64 = 5) -> String {
        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":\(code),\"message\":\"Method not found\"},\"id\":\(id)}"
    }

    @Test func aJSONRPCErrorIsJudgedByItsCodeWhateverTheStatus() {
        let classifier = JSONRPCResponseClassifier()
        guard case .failed(let notFound) = classifier.classify(Self.response(500, Self.error(-32601)), expectedID: 5)
        else {
            Issue.record("500 with -32601 was not a failure")
            return
        }
        #expect(!notFound.isRetryable && !notFound.countsForBreaker)
        #expect(notFound.message == "JSON-RPC error -32601: Method not found")
        guard case .failed(let invalid) = classifier.classify(Self.response(404, Self.error(-32602)), expectedID: 5)
        else {
            Issue.record("404 with -32602 was not a failure")
            return
        }
        #expect(!invalid.isRetryable)
        guard
            case .failed(let serverError) = classifier.classify(
                Self.response(500, Self.error(-32000), retryAfter: "3"), expectedID: 5)
        else {
            Issue.record("500 with -32000 was not a failure")
            return
        }
        #expect(serverError.isRetryable && serverError.retryAfter == .seconds(3))
        // Another request's error says nothing about this one: the status decides.
        guard
            case .failed(let otherID) = classifier.classify(
                Self.response(500, Self.error(-32601, id: 6)), expectedID: 5)
        else {
            Issue.record("500 for another id was not a failure")
            return
        }
        #expect(otherID.isRetryable && otherID.message.hasPrefix("HTTP 500: "))
    }

    @Test func otherBodiesAreJudgedByTheStatusAndQuotedOnOneLine() {
        let classifier = JSONRPCResponseClassifier()
        let html = "<html>\r\n<body>Service Unavailable</body>\u{1}\n</html>" + String(repeating: "x", count: 300)
        guard case .failed(let unavailable) = classifier.classify(Self.response(503, html), expectedID: 5) else {
            Issue.record("503 was not a failure")
            return
        }
        #expect(unavailable.isRetryable)
        #expect(unavailable.message.hasPrefix("HTTP 503: <html>\\x0d\\x0a<body>Service Unavailable</body>\\x01\\x0a"))
        #expect(!unavailable.message.contains("\n") && !unavailable.message.contains("\r"))
        #expect(unavailable.message.utf8.count < 260)
        guard case .failed(let forbidden) = classifier.classify(Self.response(403, "no"), expectedID: 5) else {
            Issue.record("403 was not a failure")
            return
        }
        #expect(!forbidden.isRetryable && forbidden.message == "HTTP 403: no")
    }

    @Test func retryCodesReplaceTheDefaultSet() {
        let custom = JSONRPCResponseClassifier(retryableCodes: [-32000, 1])
        #expect(custom.isRetryable(code: 1) && custom.isRetryable(code: -32000))
        #expect(!custom.isRetryable(code: -32603) && !custom.isRetryable(code: -32001))
        let defaults = JSONRPCResponseClassifier()
        #expect(defaults.isRetryable(code: -32603) && defaults.isRetryable(code: -32099))
        #expect(!defaults.isRetryable(code: 1) && !defaults.isRetryable(code: -32601))
        guard case .failed(let failure) = custom.classify(Self.response(200, Self.error(1)), expectedID: 5) else {
            Issue.record("code 1 was not a failure")
            return
        }
        #expect(failure.isRetryable)
    }
}
