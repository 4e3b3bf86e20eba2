import Testing

@testable import Dispatcher

/// `SlotShare` and `SlotRenewal`: how a queue's `max_in_flight` slots are split between daemons,
/// renewal by renewal.
@Suite("fleet-wide slots")
struct SlotShareTests {
    typealias Holder = SlotShare.Holder

    @Test func fairSharesFollowDemandAndNeverExceedTheTotal() {
        // Even split of 5 between three busy daemons: 1, 2, 2 (owner order breaks the tie).
        #expect(SlotShare.fairShares(of: 5, demands: [("a", 8), ("b", 8), ("c", 8)]) == ["a": 1, "b": 2, "c": 2])
        // A small demand is met; the rest is split among the larger ones.
        #expect(SlotShare.fairShares(of: 8, demands: [("a", 1), ("b", 8), ("c", 8)]) == ["a": 1, "b": 3, "c": 4])
        // Nobody gets more than it asks for, even with slots to spare.
        #expect(SlotShare.fairShares(of: 10, demands: [("a", 2), ("b", 3)]) == ["a": 2, "b": 3])
        #expect(SlotShare.fairShares(of: 10, demands: [("a", 0)]) == ["a": 0])
        for total in 0...12 {
            for demands in [[3, 3, 3], [0, 7, 2], [12, 1, 1, 1], [5]] {
                let entries = demands.enumerated().map { ("d\($0.offset)", $0.element) }
                let shares = SlotShare.fairShares(of: total, demands: entries)
                #expect(shares.values.reduce(0, +) <= total)
                #expect(shares.values.reduce(0, +) == min(total, demands.reduce(0, +)))
                for (owner, demand) in entries { #expect(shares[owner, default: 0] <= demand) }
            }
        }
    }

    @Test func aDaemonTakesOnlySlotsNoOtherHolds() {
        // Alone, it gets what it wants.
        #expect(
            SlotShare.share(maxInFlight: 5, owner: "b", demand: 8, inUse: 0, others: [])
                == SlotShare(granted: 5, held: 5))
        // `a` still holds all five: `b`'s fair share is 2, but none is free yet.
        let holder = Holder(owner: "a", slots: 5, demand: 8)
        #expect(
            SlotShare.share(maxInFlight: 5, owner: "b", demand: 8, inUse: 0, others: [holder])
                == SlotShare(granted: 0, held: 0))
        // `a` renews and sees `b` waiting: granted its share (3), its row keeps the five calls it
        // has in flight until they end…
        let waiting = Holder(owner: "b", slots: 0, demand: 8)
        #expect(
            SlotShare.share(maxInFlight: 5, owner: "a", demand: 8, inUse: 5, others: [waiting])
                == SlotShare(granted: 2, held: 5))
        // …then gives the rest up, and `b` takes them.
        #expect(
            SlotShare.share(maxInFlight: 5, owner: "a", demand: 8, inUse: 1, others: [waiting])
                == SlotShare(granted: 2, held: 2))
        #expect(
            SlotShare.share(
                maxInFlight: 5, owner: "b", demand: 8, inUse: 0, others: [Holder(owner: "a", slots: 2, demand: 8)])
                == SlotShare(granted: 3, held: 3))
    }

    @Test func renewalsOfAFleetNeverHoldMoreThanTheLimitAndConverge() {
        // Three daemons renewing in turn, each with eight workers busy and calls ending between
        // renewals: the rows never add up to more than five, and each ends with its fair share.
        var rows = [String: QueueSlotRow]()
        var inUse = ["a": 0, "b": 0, "c": 0]
        for round in 0..<6 {
            for owner in ["a", "b", "c"] {
                let renewal = SlotRenewal(
                    queue: "q", owner: owner, maxInFlight: 5, demand: 8, inUse: inUse[owner]!, concurrencyLimit: 8,
                    lease: 1000)
                let decision = renewal.decide(rows: Array(rows.values), now: Int64(round * 100))
                if let row = decision.write { rows[owner] = row }
                // Its workers fill what was granted.
                inUse[owner] = decision.granted!
                #expect(rows.values.reduce(0) { $0 + $1.slots } <= 5)
                #expect(inUse.values.reduce(0, +) <= 5)
            }
        }
        #expect(rows.values.map(\.slots).sorted() == [1, 2, 2])
        #expect(rows["a"]?.concurrencyLimit == 1 && rows["a"]?.maxInFlight == 5)
    }

    @Test func anExpiredRowFreesItsSlotsAndIsDeleted() {
        let dead = QueueSlotRow(
            queue: "q", owner: "dead", slots: 5, demand: 5, concurrencyLimit: 5, maxInFlight: 5, expiresAt: 999)
        let renewal = SlotRenewal(
            queue: "q", owner: "b", maxInFlight: 5, demand: 3, inUse: 0, concurrencyLimit: 8, lease: 1000)
        let before = renewal.decide(rows: [dead], now: 999)
        #expect(before.granted == 0 && !before.deleteExpired)
        let after = renewal.decide(rows: [dead], now: 1000)
        #expect(after.granted == 3 && after.deleteExpired)
        #expect(after.write?.slots == 3 && after.write?.expiresAt == 2000)
    }

    @Test func anUnchangedRowIsWrittenOnlyWhenHalfItsLeaseIsGone() throws {
        let renewal = SlotRenewal(
            queue: "q", owner: "a", maxInFlight: nil, demand: 2, inUse: 2, concurrencyLimit: 8, lease: 1000)
        let first = renewal.decide(rows: [], now: 0)
        #expect(first.granted == nil)
        let row = try #require(first.write)
        #expect(row.slots == 0 && row.concurrencyLimit == 8 && row.expiresAt == 1000)
        #expect(renewal.decide(rows: [row], now: 400).write == nil)
        #expect(renewal.decide(rows: [row], now: 600).write?.expiresAt == 1600)
        // A change is written at once.
        var busier = renewal
        busier.demand = 3
        #expect(busier.decide(rows: [row], now: 100).write?.demand == 3)
    }
}
