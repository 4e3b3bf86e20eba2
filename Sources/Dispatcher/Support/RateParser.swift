import WorkerPool

/// Parses a rate limit: `N/s` or `N/m` (N a positive integer), with a burst of at least 1.
enum RateParser {
    static func parse(
        _ text: String, burst: Int, what: String
    ) throws -> TokenBucket<ContinuousClock.Instant>.Configuration {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let rate = Int(parts[0]), rate >= 1, rate <= 1_000_000 else {
            throw DispatcherError("\(what) must look like 200/s or 60/m (got '\(text)')")
        }
        let period: Duration
        switch parts[1] {
        case "s": period = .seconds(1)
        case "m": period = .seconds(60)
        default: throw DispatcherError("\(what) must look like 200/s or 60/m (got '\(text)')")
        }
        guard (1...1_000_000).contains(burst) else {
            throw DispatcherError("burst must be between 1 and 1000000 (got \(burst))")
        }
        return .init(rate: rate, period: period, burst: burst)
    }
}
