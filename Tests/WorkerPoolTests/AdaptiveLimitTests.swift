import Testing

@testable import WorkerPool

/// The adaptive concurrency limit, event by event, and against a simulated upstream whose
/// latency climbs steeply past four concurrent calls, on a simulated clock.
@Suite("adaptive concurrency limit")
struct AdaptiveLimitTests {
    /// Runs `count` calls through `limit` one window at a time: start as many as allowed, end
    /// them all with `latency`.
    static func window(_ limit: inout AdaptiveLimit, latency: Duration, signal: AdaptiveLimit.Signal = .answered) {
        var slots = [AdaptiveLimit.Slot]()
        while let slot = limit.start() { slots.append(slot) }
        for slot in slots { limit.end(slot, latency: latency, signal: signal) }
    }

    @Test func fullWindowsAtTheBaselineRaiseTheLimitByOneEach() {
        var limit = AdaptiveLimit(configuration: .init(maximum: 16))
        #expect(limit.limit == 1)
        for expected in 2...16 {
            Self.window(&limit, latency: .milliseconds(5))
            #expect(limit.limit == expected)
        }
        Self.window(&limit, latency: .milliseconds(5))
        #expect(limit.limit == 16, "never past the workers")
    }

    @Test func aSlowWindowLowersTheLimitAndHoldsItBeforeProbingAgain() {
        var configuration = AdaptiveLimit.Configuration(maximum: 16, initial: 10)
        configuration.hold = 3
        var limit = AdaptiveLimit(configuration: configuration)
        Self.window(&limit, latency: .milliseconds(5))
        #expect(limit.limit == 11)
        // Twice the baseline: congestion; 11 × 0.8 = 8.
        Self.window(&limit, latency: .milliseconds(10))
        #expect(limit.limit == 8)
        // Three good windows are the hold; the fourth probes.
        for _ in 0..<3 {
            Self.window(&limit, latency: .milliseconds(5))
            #expect(limit.limit == 8)
        }
        Self.window(&limit, latency: .milliseconds(5))
        #expect(limit.limit == 9)
    }

    @Test func aWindowThatDidNotUseTheLimitDoesNotRaiseIt() {
        var limit = AdaptiveLimit(configuration: .init(maximum: 16, initial: 4))
        Self.window(&limit, latency: .milliseconds(5))
        #expect(limit.limit == 5)
        // Four calls one after another: five completions are never in flight together.
        for _ in 0..<10 {
            let slot = limit.start()
            #expect(slot != nil)
            limit.end(slot!, latency: .milliseconds(5), signal: .answered)
        }
        #expect(limit.limit == 5)
    }

    @Test func anOverloadBurstLowersTheLimitOnce() {
        var limit = AdaptiveLimit(configuration: .init(maximum: 16, initial: 10))
        var slots = [AdaptiveLimit.Slot]()
        while let slot = limit.start() { slots.append(slot) }
        #expect(slots.count == 10)
        limit.end(slots[0], latency: .milliseconds(1), signal: .overloaded)
        #expect(limit.limit == 8)
        // The other calls of the burst started under the old limit: their 503s are the same event.
        for slot in slots[1...] { limit.end(slot, latency: .milliseconds(1), signal: .overloaded) }
        #expect(limit.limit == 8 && limit.inFlight == 0)
        // A 503 to a call started under the new limit lowers it again.
        let next = limit.start()!
        limit.end(next, latency: .milliseconds(1), signal: .overloaded)
        #expect(limit.limit == 6)
    }

    @Test func atOneCallTheSlowerUpstreamBecomesTheBaseline() {
        var limit = AdaptiveLimit(configuration: .init(maximum: 4, initial: 2))
        Self.window(&limit, latency: .milliseconds(5))
        for _ in 0..<5 { Self.window(&limit, latency: .milliseconds(50)) }
        #expect(limit.limit >= 1)
        #expect((limit.baseline ?? 0) >= 0.05)
        // Once the upstream is slow for good, the limit grows again at its new pace.
        for _ in 0..<20 { Self.window(&limit, latency: .milliseconds(50)) }
        #expect(limit.limit == 4)
    }

    // MARK: A simulated upstream with a knee

    /// Latency of a call that starts with `n` calls in flight (itself included): 5 ms up to four,
    /// then steeply more.
    static func kneeLatency(_ n: Int) -> Duration {
        n <= 4 ? .milliseconds(5) : .milliseconds(5) + .microseconds(2_500) * ((n - 4) * (n - 4))
    }

    struct Run {
        var completed = 0
        var inFlightSamples: [Int] = []
        var limits: [Int] = []
    }

    /// `workers` workers with endless work for `seconds` of simulated time, through `limit`
    /// (nil: every worker calls).
    static func simulate(workers: Int, adaptive: Bool, seconds: Int = 20) -> Run {
        var limit = AdaptiveLimit(configuration: .init(maximum: workers))
        var ends: [(at: Duration, latency: Duration, slot: AdaptiveLimit.Slot?)] = []
        var now = Duration.zero
        var run = Run()
        var idle = workers
        let horizon = Duration.seconds(seconds)
        while now < horizon {
            // Every idle worker that may start a call does.
            while idle > 0 {
                var slot: AdaptiveLimit.Slot?
                if adaptive {
                    guard let taken = limit.start() else { break }
                    slot = taken
                }
                idle -= 1
                let latency = kneeLatency(ends.count + 1)
                ends.append((now + latency, latency, slot))
            }
            run.inFlightSamples.append(ends.count)
            run.limits.append(adaptive ? limit.limit : workers)
            // The next call to end.
            let next = ends.indices.min { ends[$0].at < ends[$1].at }!
            let end = ends.remove(at: next)
            now = end.at
            idle += 1
            run.completed += 1
            if let slot = end.slot { limit.end(slot, latency: end.latency, signal: .answered) }
        }
        return run
    }

    @Test func againstAKneeAtFourTheLimitSettlesThereAndBeatsBothFixedChoices() {
        let adaptive = Self.simulate(workers: 16, adaptive: true)
        let fixed16 = Self.simulate(workers: 16, adaptive: false)
        let fixed4 = Self.simulate(workers: 4, adaptive: false)
        let settled = adaptive.limits.suffix(adaptive.limits.count / 2)
        let meanLimit = Double(settled.reduce(0, +)) / Double(settled.count)
        #expect((3.0...5.5).contains(meanLimit), "mean limit \(meanLimit)")
        let sorted = adaptive.inFlightSamples.sorted()
        #expect(sorted[sorted.count * 99 / 100] <= 8)
        #expect(adaptive.completed >= 3 * fixed16.completed, "\(adaptive.completed) vs \(fixed16.completed)")
        #expect(2 * adaptive.completed >= fixed4.completed, "\(adaptive.completed) vs \(fixed4.completed)")
    }
}
