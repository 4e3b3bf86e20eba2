import Testing

@testable import Dispatcher

/// The fleet's token bucket, event by event on a clock of plain numbers (microseconds).
@Suite("shared rate")
struct SharedRateTests {
    /// 100/s: one call is worth 10 ms.
    let rate = SharedRate(interval: 10_000, burst: 1)

    @Test func aFirstClaimGetsOneCallAndTheNextWaitsOneInterval() {
        let grant = rate.grant(theoreticalArrival: nil, now: 1_000_000)
        #expect(grant == .init(calls: 1, nextAt: nil))
        let arrival = rate.spend(1, theoreticalArrival: nil, now: 1_000_000)
        #expect(arrival == 1_010_000)
        #expect(rate.grant(theoreticalArrival: arrival, now: 1_004_000) == .init(calls: 0, nextAt: 1_010_000))
        #expect(rate.grant(theoreticalArrival: arrival, now: 1_010_000) == .init(calls: 1, nextAt: nil))
    }

    @Test func aQuietSpellBanksNoMoreThanTheBurst() {
        let bursty = SharedRate(interval: 10_000, burst: 5)
        // Long idle: the burst, not the seconds' worth of tokens.
        #expect(bursty.grant(theoreticalArrival: 0, now: 60_000_000).calls == 5)
        let arrival = bursty.spend(5, theoreticalArrival: 0, now: 60_000_000)
        #expect(arrival == 60_050_000)
        #expect(bursty.grant(theoreticalArrival: arrival, now: 60_000_000).nextAt == 60_010_000)
        // 25 ms later two and a half intervals have passed: two calls.
        #expect(bursty.grant(theoreticalArrival: arrival, now: 60_025_000).calls == 2)
    }

    @Test func takingFewerThanGrantedSpendsOnlyWhatWasTaken() {
        let bursty = SharedRate(interval: 10_000, burst: 10)
        #expect(bursty.grant(theoreticalArrival: nil, now: 0).calls == 10)
        let arrival = bursty.spend(3, theoreticalArrival: nil, now: 0)
        #expect(bursty.grant(theoreticalArrival: arrival, now: 0).calls == 7)
    }

    /// Claims of two daemons taking turns at every millisecond: in any second the fleet starts
    /// at most rate + burst calls.
    @Test func claimsAtEveryMillisecondStayWithinTheRate() {
        var arrival: Int64?
        var starts = [Int64]()
        for now in stride(from: Int64(0), to: 3_000_000, by: 1_000) {
            let grant = rate.grant(theoreticalArrival: arrival, now: now)
            guard grant.calls > 0 else { continue }
            let taken = min(grant.calls, 4)
            arrival = rate.spend(taken, theoreticalArrival: arrival, now: now)
            starts += Array(repeating: now, count: taken)
        }
        var worst = 0
        var first = 0
        for last in starts.indices {
            while starts[last] - starts[first] >= 1_000_000 { first += 1 }
            worst = max(worst, last - first + 1)
        }
        #expect(worst <= 101)
        #expect(starts.count >= 299)
    }

    @Test func aPerMinuteRateIsCountedInMicroseconds() {
        let perMinute = SharedRate(.init(rate: 60, period: .seconds(60), burst: 2))
        #expect(perMinute == SharedRate(interval: 1_000_000, burst: 2))
    }
}
