import Testing

@testable import WorkerPool

/// A clock reading the test sets by hand.
struct ManualInstant: InstantProtocol {
    var offset: Duration

    func advanced(by duration: Duration) -> ManualInstant { ManualInstant(offset: offset + duration) }
    func duration(to other: ManualInstant) -> Duration { other.offset - offset }
    static func < (lhs: ManualInstant, rhs: ManualInstant) -> Bool { lhs.offset < rhs.offset }
}

@Suite("TokenBucket: the rate limit, event by event")
struct TokenBucketTests {
    typealias Bucket = TokenBucket<ManualInstant>
    func at(_ milliseconds: Int64) -> ManualInstant { ManualInstant(offset: .milliseconds(milliseconds)) }

    @Test func grantsOneCallPerEmissionIntervalWithABurstOfOne() {
        var bucket = Bucket(configuration: .init(rate: 200, period: .seconds(1)))
        #expect(bucket.take(now: at(0)) == .granted)
        #expect(bucket.take(now: at(0)) == .wait(until: at(5)))
        #expect(bucket.take(now: at(4)) == .wait(until: at(5)))
        #expect(bucket.take(now: at(5)) == .granted)
        #expect(bucket.take(now: at(5)) == .wait(until: at(10)))
        // A late caller does not bank tokens beyond the burst.
        #expect(bucket.take(now: at(100)) == .granted)
        #expect(bucket.take(now: at(100)) == .wait(until: at(105)))
    }

    @Test func aQuietSpellAllowsTheBurstAndNoMore() {
        var bucket = Bucket(configuration: .init(rate: 10, period: .seconds(1), burst: 3))
        for _ in 0..<3 { #expect(bucket.take(now: at(0)) == .granted) }
        #expect(bucket.take(now: at(0)) == .wait(until: at(100)))
        #expect(bucket.take(now: at(100)) == .granted)
        #expect(bucket.take(now: at(100)) == .wait(until: at(200)))
        for _ in 0..<3 { #expect(bucket.take(now: at(10_000)) == .granted) }
        #expect(bucket.take(now: at(10_000)) != .granted)
    }

    @Test func perMinuteRatesSpreadCallsOverTheMinute() {
        var bucket = Bucket(configuration: .init(rate: 60, period: .seconds(60)))
        #expect(bucket.take(now: at(0)) == .granted)
        #expect(bucket.take(now: at(500)) == .wait(until: at(1000)))
        #expect(bucket.take(now: at(1000)) == .granted)
    }

    /// Callers that take a token whenever the bucket allows, as fast as they can, never get more
    /// than `burst + rate` tokens in any one-second window.
    @Test(arguments: [(200, 1), (200, 20), (7, 1), (1000, 5)])
    func noOneSecondWindowExceedsTheRatePlusTheBurst(_ rate: Int, _ burst: Int) {
        var bucket = Bucket(configuration: .init(rate: rate, period: .seconds(1), burst: burst))
        var grants = [Int64]()  // microseconds
        var now: Int64 = 0
        // Eight callers polling every 0.3 ms for 5 s, after an idle start.
        while now < 5_000_000 {
            for _ in 0..<8 where bucket.take(now: ManualInstant(offset: .microseconds(now))) == .granted {
                grants.append(now)
            }
            now += 300
        }
        var worst = 0
        var first = 0
        for last in grants.indices {
            while grants[last] - grants[first] >= 1_000_000 { first += 1 }
            worst = max(worst, last - first + 1)
        }
        #expect(worst <= rate + burst)
        // And the limit is not needlessly strict (callers polling every 0.3 ms lose a little).
        #expect(worst >= rate * 9 / 10)
        #expect(grants.count <= rate * 5 + burst)
    }
}
