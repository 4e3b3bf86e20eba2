import Foundation
import Testing

/// A W3C WebDriver session on a headless Chromium, through a `chromedriver` this test starts on
/// a free loopback port and stops (by its pid) when done.
final class WebDriver {
    let driverPort: Int
    let process: Process
    let session: String

    /// Where chromedriver and chromium live; nil (and the reason) when they are missing.
    static func locate() -> (driver: String, browser: String)? {
        let drivers = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        let browsers = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"]
        guard let driver = drivers.first(where: FileManager.default.isExecutableFile(atPath:)),
            let browser = browsers.first(where: FileManager.default.isExecutableFile(atPath:))
        else { return nil }
        return (driver, browser)
    }

    init(driver: String, browser: String, logDirectory: TemporaryDirectory) async throws {
        driverPort = try Self.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: driver)
        process.arguments = ["--port=\(driverPort)", "--allowed-ips=127.0.0.1"]
        process.standardOutput = try FileHandle(forWritingTo: Self.file(logDirectory.path("chromedriver.log")))
        process.standardError = process.standardOutput
        try process.run()
        let port = driverPort
        try await waitUntil(timeout: .seconds(20)) {
            (try? HTTPClient.request(port: port, "GET", "/status").status) == 200
        }
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": browser,
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=1600,900", "--no-first-run", "--disable-extensions",
                        ],
                    ],
                ]
            ]
        ]
        do {
            let created = try Self.call(port: driverPort, "POST", "/session", capabilities)
            guard let value = created["value"] as? [String: Any], let id = value["sessionId"] as? String else {
                throw DispatcherTestError("no WebDriver session: \(created)")
            }
            session = id
        } catch {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw error
        }
    }

    /// Ends the browser session and stops chromedriver.
    func quit() {
        _ = try? Self.call(port: driverPort, "DELETE", "/session/\(session)", nil)
        // chromedriver ignores SIGTERM; the browser is gone with the session, so nothing is left
        // behind by killing it.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func navigate(_ url: String) throws {
        _ = try command("POST", "url", ["url": url])
    }

    var currentURL: String {
        get throws { try command("GET", "url", nil)["value"] as? String ?? "" }
    }

    /// The first element matching a CSS selector, waiting up to `timeout` for it to appear.
    func element(_ selector: String, timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            // "no such element" is an error answer until the element appears.
            let result = try? command("POST", "element", ["using": "css selector", "value": selector])
            if let value = result?["value"] as? [String: Any], let id = value.values.first as? String,
                value.keys.contains(where: { $0.hasPrefix("element-") })
            {
                return id
            }
            guard ContinuousClock.now < deadline else { throw DispatcherTestError("no element \(selector)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Finds and clicks the element for `selector`, again if the page replaced it in between
    /// (the overview refreshes itself, which makes earlier element references stale).
    func click(selector: String) async throws {
        var lastError: (any Error)?
        for _ in 0..<5 {
            do {
                try click(try await element(selector))
                return
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        throw lastError ?? DispatcherTestError("could not click \(selector)")
    }

    func click(_ element: String) throws {
        _ = try command("POST", "element/\(element)/click", [:])
    }

    func text(of element: String) throws -> String {
        try command("GET", "element/\(element)/text", nil)["value"] as? String ?? ""
    }

    /// The page as the browser renders it, as PNG bytes.
    func screenshot() throws -> Data {
        guard let base64 = try command("GET", "screenshot", nil)["value"] as? String,
            let data = Data(base64Encoded: base64)
        else { throw DispatcherTestError("no screenshot") }
        return data
    }

    private func command(_ method: String, _ path: String, _ body: [String: Any]?) throws -> [String: Any] {
        try Self.call(port: driverPort, method, "/session/\(session)/\(path)", body)
    }

    private static func call(
        port: Int, _ method: String, _ path: String, _ body: [String: Any]?
    ) throws
        -> [String: Any]
    {
        let text = try body.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        let response = try HTTPClient.request(
            port: port, method, path, headers: text == nil ? [] : [("Content-Type", "application/json")], body: text)
        let object = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any] ?? [:]
        if response.status >= 400 {
            throw DispatcherTestError("WebDriver \(method) \(path): \(response.status) \(response.body.prefix(300))")
        }
        return object
    }

    private static func file(_ path: String) -> URL {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return URL(fileURLWithPath: path)
    }

    /// A port nobody listens on now (bound, read, released).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw DispatcherTestError("could not find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
