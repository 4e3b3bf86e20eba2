import Foundation
import Testing
import UpstreamStub

@testable import Dispatcher

/// The dashboard in a real browser: headless Chromium driven over WebDriver by chromedriver,
/// both from Debian's packages (scripts/test.sh installs them). Under `CI=true` a missing
/// browser fails the test; elsewhere it is skipped with a note.
@Suite("the dashboard in a real browser", .timeLimit(.minutes(3)))
struct DashboardBrowserTests {
    static var browser: (driver: String, browser: String)? { WebDriver.locate() }

    @Test func anOperatorFindsAFailureRetriesItAndPausesTheQueue() async throws {
        guard let (driverPath, browserPath) = Self.browser else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("chromium and chromedriver are required under CI=true (scripts/test.sh installs them)")
            } else {
                print("note: chromium/chromedriver not installed; browser test skipped")
            }
            return
        }
        let fixture = try await DashboardFixture.start(good: 30, bad: 2)
        let driver = try await WebDriver(driver: driverPath, browser: browserPath, logDirectory: fixture.directory)
        defer { driver.quit() }
        let base = "http://127.0.0.1:\(fixture.admin)"
        let rows = try Rows(fixture.directory.database)

        // The overview: the queue row with its figures; keep a screenshot for a person to look at.
        try driver.navigate(base + "/")
        let failedCell = try await driver.element("tr[data-queue='default'] td[data-count='failed'] a")
        #expect(try driver.text(of: failedCell) == "2")
        #expect(try driver.text(of: try await driver.element("td[data-count='succeeded']")) == "30")
        try Self.save(try driver.screenshot(), as: "dashboard-overview.png")

        // Pause the queue from the page: the daemon stops claiming it.
        try await driver.click(selector: "tr[data-queue='default'] form[action='/queues/default/pause'] button")
        _ = try await driver.element(".notice")
        #expect(try rows.store.pausedQueues() == ["default"])
        try await DaemonTests.enqueue(10, in: fixture.directory)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try rows.count(.pending) == 10, "a paused queue is not claimed")
        #expect(try rows.count(.succeeded) == 30)

        // Find a failed job, open it, press Retry.
        try await driver.click(selector: "nav a[href='/failures']")
        let jobLink = try await driver.element("table.failures tr[data-job] a")
        let id = try #require(Int64(try driver.text(of: jobLink)))
        try driver.click(jobLink)
        _ = try await driver.element("#job-state")
        #expect(try driver.currentURL.hasSuffix("/jobs/\(id)"))
        try await driver.click(selector: "form[action='/jobs/\(id)/retry'] button")
        let notice = try await driver.element(".notice")
        #expect(try driver.text(of: notice).contains("pending again"))
        let shown = try await DispatcherProcess.run(["show", String(id), "--json"], in: fixture.directory)
        let object = try jsonObject(shown.stdout)
        #expect(object["state"] as? String == "pending")
        #expect(object["attempts"] as? Int == 0)

        // Resume: the queue drains again.
        try driver.navigate(base + "/")
        try await driver.click(selector: "form[action='/queues/default/resume'] button")
        try await waitUntil { (try? rows.count(.succeeded)) == 40 }
        try await fixture.stop()
    }

    /// Writes a file for a person to look at: under $DISPATCHER_TEST_ARTIFACTS, else the
    /// system's temporary folder; the path is printed.
    static func save(_ data: Data, as name: String) throws {
        let folder =
            ProcessInfo.processInfo.environment["DISPATCHER_TEST_ARTIFACTS"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("dispatcher-test-artifacts").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = URL(fileURLWithPath: folder).appendingPathComponent(name)
        try data.write(to: path)
        #expect(data.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
        print("screenshot: \(path.path)")
    }
}
