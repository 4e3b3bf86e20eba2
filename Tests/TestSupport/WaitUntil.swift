import Testing

/// Polls `condition` every 10 ms for at most `timeout`; records an issue when it never holds.
public func waitUntil(timeout: Duration = .seconds(60), _ condition: () -> Bool) async throws {
    try await waitUntil(timeout: timeout) { () async -> Bool in condition() }
}

/// `waitUntil` for a condition that awaits (a store read).
public func waitUntil(timeout: Duration = .seconds(60), _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(await condition()) {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
