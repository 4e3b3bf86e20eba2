import NIOCore

/// A `TaskExecutor` that runs tasks on one NIO event loop.
///
/// A worker runs its calls with this as its task-executor preference, on the loop that owns its
/// connection: writing a request and resuming on the response then happen on one thread,
/// instead of hopping between Swift's cooperative pool and the event loop twice per call. On
/// two cores that hop was most of a call's cost.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: the only state is the event loop, which is Sendable and never changes.
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
