import Synchronization

@testable import Dispatcher

/// A `DaemonClock` that moves only when the test says: `sleep` suspends until `advance` has
/// moved the clock past its deadline, so a service's timing is stepped event by event instead
/// of waited out in real time.
final class ManualDaemonClock: Sendable {
    private struct Sleeper {
        var deadline: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var elapsed: Duration = .zero
        var sleepers: [UInt64: Sleeper] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())
    private let origin = ContinuousClock.now
    /// The wall clock at `elapsed` zero: 2026-01-01T00:00:00Z.
    private let wallOrigin: Int64 = 1_767_225_600_000

    var clock: DaemonClock {
        DaemonClock(
            wallMilliseconds: { [self] in wallOrigin + elapsed.wholeMilliseconds },
            monotonic: { [self] in origin + elapsed },
            sleep: { [self] duration in try await sleep(duration) })
    }

    var elapsed: Duration { state.withLock { $0.elapsed } }

    /// Tasks sleeping on this clock now.
    var sleepers: Int { state.withLock { $0.sleepers.count } }

    /// Moves the clock on by `duration`, waking every sleeper whose deadline it reaches.
    func advance(by duration: Duration) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.elapsed += duration
            let due = state.sleepers.filter { $0.value.deadline <= state.elapsed }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    private enum Start { case later, now, cancelled }

    private func sleep(_ duration: Duration) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let start = state.withLock { state -> Start in
                    if Task.isCancelled { return .cancelled }
                    if duration <= .zero { return .now }
                    state.sleepers[id] = Sleeper(deadline: state.elapsed + duration, continuation: continuation)
                    return .later
                }
                switch start {
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .now: continuation.resume()
                case .later: break
                }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}
