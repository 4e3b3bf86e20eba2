import Testing

@testable import Dispatcher

#if canImport(Glibc)
    import Glibc
#endif

/// The store's outage state machine, driven by hand with a fake clock: no I/O.
@Suite("store outages")
struct StoreOutageTests {
    typealias Outage = StoreOutage<ContinuousClock.Instant>
    let start = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { start + .milliseconds(milliseconds) }

    @Test func oneStartManyContinuationsOneEnd() {
        var outage = Outage()
        #expect(outage.succeeded(.wrote, at: at(0)) == .none)
        guard case .started(let started) = outage.failed(.notWritable, reason: "disk is full", at: at(100)) else {
            Issue.record("the first failure starts an outage")
            return
        }
        #expect(started.failedAttempts == 1 && started.reason == "disk is full")
        for attempt in 2...61 {
            guard
                case .continuing(let current) = outage.failed(
                    .notWritable, reason: "disk is full", at: at(attempt * 200))
            else {
                Issue.record("later failures continue it")
                return
            }
            #expect(current.failedAttempts == attempt)
        }
        // Writes work again at 12.5 s; the outage is over once they kept working for 2 s.
        #expect(outage.succeeded(.wrote, at: at(12_500)) == .none)
        #expect(outage.succeeded(.wrote, at: at(14_100)) == .none)
        #expect(
            outage.succeeded(.wrote, at: at(14_200))
                == .ended(failure: .notWritable, duration: .milliseconds(12_400), failedAttempts: 61))
        #expect(outage.outage == nil)
        #expect(outage.succeeded(.wrote, at: at(14_300)) == .none, "ends once")
        guard case .started = outage.failed(.notWritable, reason: "again", at: at(15_000)) else {
            Issue.record("a failure after the end starts a new outage")
            return
        }
    }

    /// A statement sent while the store was down can fail long after it came back (PostgreSQL's
    /// statement deadline is 30 s): it belongs to the outage already reported. An operation begun
    /// after the end does start a new one.
    @Test func aLateFailureOfAnOperationBegunDuringAnOutageStartsNoNewOne() {
        var outage = Outage(settle: .seconds(2))
        guard case .started = outage.failed(.unreachable, reason: "terminating connection", at: at(0)) else {
            Issue.record("the first failure starts an outage")
            return
        }
        #expect(outage.succeeded(.wrote, at: at(100)) == .none)
        #expect(
            outage.succeeded(.wrote, at: at(2_100))
                == .ended(failure: .unreachable, duration: .milliseconds(100), failedAttempts: 1))
        #expect(outage.lastEndedAt == at(2_100))
        // Begun at 50 ms, failed at 30 s: no new outage.
        #expect(
            outage.failed(.unreachable, reason: "did not answer within 30 s", at: at(30_050), began: at(50))
                == .late(reason: "did not answer within 30 s"))
        #expect(outage.outage == nil)
        // Begun after the end: a new outage, as is a failure whose start is not known.
        guard case .started = outage.failed(.unreachable, reason: "down again", at: at(31_000), began: at(30_900))
        else {
            Issue.record("a failure of an operation begun after the end starts a new outage")
            return
        }
        var other = Outage(settle: .seconds(2))
        _ = other.failed(.unreachable, reason: "x", at: at(0))
        _ = other.succeeded(.wrote, at: at(2_000))
        guard case .started = other.failed(.unreachable, reason: "y", at: at(3_000)) else {
            Issue.record("without a start instant a failure after the end starts a new outage")
            return
        }
    }

    @Test func aFlappingStoreIsOneOutage() {
        var outage = Outage(settle: .seconds(2))
        _ = outage.failed(.notWritable, reason: "disk is full", at: at(0))
        // A small commit fits where a large one did not: not the end yet.
        #expect(outage.succeeded(.wrote, at: at(300)) == .none)
        guard case .continuing(let current) = outage.failed(.notWritable, reason: "disk is full", at: at(1000)) else {
            Issue.record("a failure after a success within the settle time continues the outage")
            return
        }
        #expect(current.failedAttempts == 2 && current.recoveredAt == nil)
        #expect(outage.succeeded(.wrote, at: at(1500)) == .none)
        #expect(
            outage.succeeded(.wrote, at: at(3000))
                == .ended(failure: .notWritable, duration: .milliseconds(1500), failedAttempts: 2))
    }

    @Test func aSuccessThatWroteNothingDoesNotEndAFullDiskOutageUntilItIsQuiet() {
        var outage = Outage(settle: .seconds(2), quietPeriod: .seconds(5))
        _ = outage.failed(.notWritable, reason: "disk is full", at: at(0))
        // The reaper had nothing to reap: its empty transaction commits even on a full disk.
        #expect(outage.succeeded(.ran, at: at(1000)) == .none)
        _ = outage.failed(.notWritable, reason: "disk is full", at: at(1200))
        #expect(outage.succeeded(.ran, at: at(4000)) == .none, "2.8 s is enough for a write, not for this")
        #expect(outage.succeeded(.ran, at: at(6100)) == .none, "4.9 s without a failure is not enough")
        #expect(
            outage.succeeded(.ran, at: at(6200))
                == .ended(failure: .notWritable, duration: .milliseconds(4000), failedAttempts: 2))
    }

    @Test(arguments: [StoreFailure.unreachable, .locked])
    func anyCompletedOperationEndsAnUnreachableOrLockedOutage(failure: StoreFailure) {
        var outage = Outage(settle: .seconds(2))
        _ = outage.failed(failure, reason: "connection refused", at: at(0))
        _ = outage.failed(failure, reason: "connection refused", at: at(500))
        #expect(outage.succeeded(.ran, at: at(800)) == .none)
        #expect(
            outage.succeeded(.ran, at: at(2500))
                == .ended(failure: failure, duration: .milliseconds(800), failedAttempts: 2))
    }

    @Test func stoppingEndsARecoveringOutageAndReportsAFailingOne() {
        var recovering = Outage()
        _ = recovering.failed(.unreachable, reason: "connection refused", at: at(0))
        _ = recovering.succeeded(.wrote, at: at(700))
        #expect(
            recovering.finish(at: at(900))
                == .ended(failure: .unreachable, duration: .milliseconds(700), failedAttempts: 1))
        var failing = Outage()
        _ = failing.failed(.unreachable, reason: "connection refused", at: at(0))
        guard case .unresolved(let outage, let duration) = failing.finish(at: at(3000)) else {
            Issue.record("an outage still failing at shutdown is reported as such")
            return
        }
        #expect(outage.failedAttempts == 1 && duration == .seconds(3))
        var healthy = Outage()
        #expect(healthy.finish(at: at(0)) == .none)
    }

    @Test func theLatestFailureDecidesTheKind() {
        var outage = Outage()
        _ = outage.failed(.locked, reason: "database is locked", at: at(0))
        _ = outage.failed(.notWritable, reason: "disk is full", at: at(100))
        #expect(outage.outage?.failure == .notWritable && outage.outage?.reason == "disk is full")
        #expect(outage.succeeded(.ran, at: at(2500)) == .none, "a full disk needs a write or a quiet period")
    }

    @Test func healthReportsTheOutageAndTheReplacedFileBeforeTheDrain() {
        let health = HealthState()
        health.update { $0.poolsRunning = true }
        #expect(health.response().status == 200)
        #expect(health.response().body.contains("\"store\":\"ok\""))
        health.update { $0.storeOutage = .init(failure: .notWritable, reason: "database or disk is full") }
        let full = health.response()
        #expect(full.status == 503)
        #expect(full.body.contains("\"store\":\"not_writable\""))
        #expect(full.body.contains("\"reason\":\"store not writable: database or disk is full\""))
        health.update {
            $0.storeOutage = nil
            $0.draining = true
            $0.databaseFileFault = "database file /x.db was removed under the running daemon"
        }
        let removed = health.response()
        #expect(removed.status == 503)
        #expect(removed.body.contains("\"reason\":\"database file /x.db was removed"), "\(removed.body)")
    }

    @Test func aFileIdentityTellsRemovedFromReplaced() {
        let opened = DatabaseFileIdentity(device: 1, inode: 42)
        #expect(opened.change(given: .success(opened)) == nil)
        #expect(opened.change(given: .success(.init(device: 1, inode: 43))) == .replaced)
        #expect(opened.change(given: .success(.init(device: 2, inode: 42))) == .replaced)
        #expect(opened.change(given: .failure(.init(rawValue: ENOENT))) == .removed)
        #expect(opened.change(given: .failure(.init(rawValue: EACCES))) == nil, "says nothing about the file")
    }
}
