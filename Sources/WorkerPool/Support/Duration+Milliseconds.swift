extension Duration {
    /// The duration in whole milliseconds, rounded up so a wait is never cut short, saturating:
    /// the one conversion of a `Duration` to the milliseconds the stores and the wire use.
    /// (Toward NIO, `TimeAmount(_:)` converts.)
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let fraction = attoseconds / 1_000_000_000_000_000
        let remainder = attoseconds % 1_000_000_000_000_000
        return scaled + fraction + (remainder > 0 ? 1 : 0)
    }
}
