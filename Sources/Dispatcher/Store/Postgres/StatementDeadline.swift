import NIOCore
import NIOPosix
import Synchronization

/// Gives up waiting for a pooled statement that does not answer.
///
/// A statement in flight while PostgreSQL restarts normally fails with the connection. Rarely,
/// on a loaded machine, it never answers at all: the daemon's completer then waited for ever,
/// its jobs stayed `running` with their leases renewed, and the daemon could not even exit. With
/// a deadline the caller sees an error instead, reports the outage and tries again (on another
/// connection: the pool replaces broken ones); a late answer to the abandoned statement is
/// harmless, since every daemon write is guarded by state and lease owner.
///
/// The wait runs in an unstructured task because a hung statement may ignore cancellation, and
/// a task group would wait for it; the timer is a cancellable NIO scheduled task, so a statement
/// that answers leaves nothing behind.
enum StatementDeadline {
    /// How long a pooled statement may take before the daemon stops waiting for it. Far above
    /// what any daemon statement takes (batches of hundreds of rows), far below a lease.
    static let standard: Duration = .seconds(30)

    struct Exceeded: Error, CustomStringConvertible {
        let deadline: Duration
        var description: String { "PostgreSQL did not answer within \(deadline)" }
    }

    /// Runs `operation`, or throws `Exceeded` once `deadline` has passed.
    ///
    /// - Parameters:
    ///   - expired: called when the deadline passes first (to close the connection the statement
    ///     hangs on, so it is discarded rather than left leased).
    ///   - abandoned: given a result that came after the deadline (to close a late connection).
    static func run<T: Sendable>(
        within deadline: Duration, expired: @escaping @Sendable () -> Void = {},
        abandoned: @escaping @Sendable (T) -> Void = { _ in },
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let race = Race()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            // The timer is armed first so the statement's task can cancel it; the task reaches
            // the timer through `race`, since the timer may fire before the task exists.
            let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(
                in: TimeAmount(deadline)
            ) {
                if race.claim() {
                    race.work.withLock { $0 }?.cancel()
                    expired()
                    continuation.resume(throwing: Exceeded(deadline: deadline))
                }
            }
            let task = Task {
                let result = await Result(catching: { try await operation() })
                timer.cancel()
                if race.claim() {
                    continuation.resume(with: result)
                } else if case .success(let late) = result {
                    abandoned(late)
                }
            }
            race.work.withLock { $0 = task }
            // Fired before the task was stored: the statement is abandoned already.
            if race.isClaimed { task.cancel() }
        }
    }
}

/// The answer and the timer race to resume the caller: `claim()` is true for the first only.
private final class Race: Sendable {
    private let done = Atomic<Bool>(false)
    /// The statement's task, for the timer to cancel.
    let work = Mutex<Task<Void, Never>?>(nil)

    func claim() -> Bool {
        done.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    /// Whether `claim()` has been won by someone.
    var isClaimed: Bool { done.load(ordering: .acquiring) }
}

extension Result where Failure == any Error {
    /// The outcome of an async throwing body, as a value.
    fileprivate init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
