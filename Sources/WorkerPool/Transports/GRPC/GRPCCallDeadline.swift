import NIOCore
import Synchronization

/// A call's deadline, sent as `grpc-timeout` and enforced by a timer on the connection's event
/// loop.
///
/// grpc-swift's own deadline (`CallOptions.timeout`) runs every call in a task group beside a
/// child task that sleeps until the deadline, and a cancelled `Task.sleep` stays scheduled until
/// its deadline passes: with a 10 s job timeout and thousands of calls a second that is tens of
/// thousands of parked sleeps (CPU and tens of MiB) per daemon. Here the call runs in one task and
/// the deadline is an event-loop timer that is cancelled (and freed) when the call ends.
enum GRPCCallDeadline {
    /// The `grpc-timeout` value for `timeout`: at most 8 digits and a unit, rounded up, as the
    /// gRPC over HTTP/2 protocol asks.
    static func header(for timeout: Duration) -> String {
        let (seconds, attoseconds) = timeout.components
        let milliseconds = max(1, seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
        if milliseconds <= 99_999_999 { return "\(milliseconds)m" }
        let wholeSeconds = (milliseconds + 999) / 1000
        if wholeSeconds <= 99_999_999 { return "\(wholeSeconds)S" }
        return "\(min(99_999_999, (wholeSeconds + 3599) / 3600))H"
    }

    /// Runs `call` in its own task (on `executor`), cancelling it when `timeout` passes or the
    /// calling task is cancelled. `expired` tells the two apart.
    static func run<T: Sendable>(
        timeout: Duration, on eventLoop: any EventLoop, executor: (any TaskExecutor)?,
        _ call: @escaping @Sendable () async throws -> T
    ) async -> (result: Result<T, any Error>, expired: Bool) {
        let task = Task(executorPreference: executor) { try await call() }
        let expired = Expiry()
        let (seconds, attoseconds) = timeout.components
        let nanoseconds =
            seconds >= Int64.max / 1_000_000_000
            ? Int64.max : max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        let timer = eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            expired.flag.withLock { $0 = true }
            task.cancel()
        }
        let result = await withTaskCancellationHandler {
            await task.result
        } onCancel: {
            task.cancel()
        }
        timer.cancel()
        return (result, expired.flag.withLock { $0 })
    }

    /// Set by the timer when it fired.
    private final class Expiry: Sendable {
        let flag = Mutex(false)
    }
}
