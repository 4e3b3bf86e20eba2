import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

/// A daemon with the dashboard on a loopback admin port, over a stub upstream where method
/// `boom` fails permanently with an error message that is an HTML injection attempt.
final class DashboardFixture {
    static let hostileMessage = "<script>alert(1)</script>"

    let directory: TemporaryDirectory
    let stub: UpstreamStub
    let daemon: DispatcherProcess.Running
    let admin: Int

    init(directory: TemporaryDirectory, stub: UpstreamStub, daemon: DispatcherProcess.Running, admin: Int) {
        self.directory = directory
        self.stub = stub
        self.daemon = daemon
        self.admin = admin
    }

    deinit {
        // A test that failed before `stop()` must not leave its daemon behind.
        if daemon.isRunning { daemon.signal(SIGKILL) }
    }

    /// Enqueues `good` jobs that succeed and `bad` jobs of method `boom`, starts the daemon with
    /// `extra` flags, and waits until every job has finished.
    static func start(good: Int, bad: Int, extra: [String] = []) async throws -> DashboardFixture {
        let directory = try TemporaryDirectory()
        try await DaemonTests.enqueue(good, in: directory)
        for index in 0..<bad {
            let result = try await DispatcherProcess.run(
                ["enqueue", "--method", "boom", "--params", "{\"n\":\(index),\"note\":\"<b>bold</b>\"}"],
                in: directory)
            #expect(result.status == 0, "\(result.stderr)")
        }
        let stub = UpstreamStub { request in
            request.method == "boom" ? .rpcError(code: -32602, message: hostileMessage) : .result("1")
        }
        let port = try await stub.start()
        let daemon = try DispatcherProcess.start(
            DaemonTests.runArguments(port: port, extra: ["--admin", "127.0.0.1:0", "--log-level", "info"] + extra),
            in: directory)
        let admin = try await OperatingTests.adminPort(of: daemon)
        let rows = try Rows(directory.database)
        try await waitUntil {
            (try? rows.count(.succeeded)) == good && (try? rows.count(.failed)) == bad
        }
        return DashboardFixture(directory: directory, stub: stub, daemon: daemon, admin: admin)
    }

    func get(_ path: String, headers: [(String, String)] = []) throws -> HTTPClient.Response {
        try HTTPClient.request(port: admin, "GET", path, headers: headers)
    }

    func post(_ path: String, form: String?, headers: [(String, String)] = []) throws -> HTTPClient.Response {
        try HTTPClient.request(
            port: admin, "POST", path,
            headers: headers + [("Content-Type", "application/x-www-form-urlencoded")], body: form ?? "")
    }

    /// The CSRF token embedded in a page's forms.
    static func csrfToken(in html: String) throws -> String {
        let pattern = #"name="csrf" value="([0-9a-f]+)""#
        let regex = try NSRegularExpression(pattern: pattern)
        let range = NSRange(html.startIndex..., in: html)
        guard let match = regex.firstMatch(in: html, range: range), let token = Range(match.range(at: 1), in: html)
        else { throw DispatcherTestError("no CSRF token in the page") }
        return String(html[token])
    }

    /// The ids of the failed jobs, newest first.
    func failedIDs() throws -> [Int64] {
        try Rows(directory.database).all().filter { $0.state == .failed }.map(\.id).sorted(by: >)
    }

    func stop() async throws {
        daemon.signal(SIGTERM)
        let result = try await daemon.wait()
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        await stub.stop()
    }
}
