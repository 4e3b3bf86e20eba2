import Testing

@testable import WorkerPool

@Suite("UpstreamURL: the scheme picks the transport")
struct UpstreamURLTests {
    @Test(arguments: [
        ("http://127.0.0.1:8545/rpc", UpstreamURL.Scheme.http, "127.0.0.1", 8545, "/rpc"),
        ("https://api.example.com", .https, "api.example.com", 443, "/"),
        ("HTTPS://api.example.com:8443/v1", .https, "api.example.com", 8443, "/v1"),
        ("grpc://[::1]:50051/", .grpc, "::1", 50051, "/"),
        ("grpcs://svc.internal/", .grpcs, "svc.internal", 443, "/"),
        ("http://localhost", .http, "localhost", 80, "/"),
    ])
    func parsesEachScheme(
        _ text: String, _ scheme: UpstreamURL.Scheme, _ host: String, _ port: Int, _ path: String
    )
        throws
    {
        let url = try UpstreamURL(parsing: text)
        #expect(url.scheme == scheme && url.host == host && url.port == port && url.path == path)
    }

    @Test func theAuthorityOmitsTheSchemesDefaultPort() throws {
        #expect(try UpstreamURL(parsing: "https://a.example:443/x").description == "https://a.example/x")
        #expect(try UpstreamURL(parsing: "https://a.example:80/x").authority == "a.example:80")
        #expect(try UpstreamURL(parsing: "http://[::1]:8080/").authority == "[::1]:8080")
    }

    @Test func ipLiteralsAreRecognisedForCertificateChecks() throws {
        #expect(try UpstreamURL(parsing: "https://127.0.0.1/").hostIsIPAddress)
        #expect(try UpstreamURL(parsing: "https://[::1]/").hostIsIPAddress)
        #expect(try !UpstreamURL(parsing: "https://localhost/").hostIsIPAddress)
        #expect(try !UpstreamURL(parsing: "https://10.0.0.7.example/").hostIsIPAddress)
    }

    @Test(arguments: [
        "ftp://x/", "127.0.0.1:80", "http//x/", "http://", "http://x:0/", "http://x:99999/", "http://@x/",
        "http://u:%zz@x/",
    ])
    func refusesWhatItCannotServe(_ text: String) {
        #expect(throws: UpstreamURLError.self) { try UpstreamURL(parsing: text) }
    }

    @Test func credentialsArePercentDecodedAndNeverDescribed() throws {
        let url = try UpstreamURL(parsing: "https://us%40er:p%3Ass@w0rd@api.example:8443/rpc")
        #expect(url.credentials == .init(user: "us@er", password: "p:ss@w0rd"))
        #expect(url.host == "api.example" && url.port == 8443 && url.path == "/rpc")
        #expect(url.description == "https://api.example:8443/rpc")
        #expect(try UpstreamURL(parsing: "http://u@x/").credentials == .init(user: "u", password: ""))
        #expect(try UpstreamURL(parsing: "http://x/").credentials == nil)
    }

    @Test func errorsShowThePasswordAsStars() {
        #expect(UpstreamURL.redacting("http://user:hunter2@x:99999/") == "http://user:***@x:99999/")
        #expect(UpstreamURL.redacting("http://x/") == "http://x/")
        do {
            _ = try UpstreamURL(parsing: "http://user:hunter2@x:99999/")
            Issue.record("an invalid port was accepted")
        } catch {
            #expect(!error.message.contains("hunter2"))
            #expect(error.message.contains("user:***@x"))
        }
    }
}
