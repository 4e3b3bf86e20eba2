import UpstreamStub

extension UpstreamStub {
    /// The most calls that arrived in any window `[t, t + window)` starting at an arrival:
    /// a rate limit counted where it matters, at the upstream.
    func mostCalls(inAnyWindowOf window: Duration) -> Int {
        let arrivals = self.arrivals.sorted()
        var worst = 0
        var first = 0
        for last in arrivals.indices {
            while arrivals[last] - arrivals[first] >= window { first += 1 }
            worst = max(worst, last - first + 1)
        }
        return worst
    }
}
