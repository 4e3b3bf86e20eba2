import NIOCore

/// A connection's one call-deadline timer, shared by its calls instead of one timer per call.
///
/// Calls are usually far shorter than their timeouts, so scheduling and cancelling a timer per
/// call would be wasted work: the timer moves only when a call's deadline is earlier than the one
/// it waits for (`arm`), and when it fires for an earlier call the owner re-arms it for the
/// current call's deadline (`schedule`). A call then costs a clock read. Used on the
/// connection's event loop only, by the handler that owns it.
struct LazyDeadlineTimer {
    private var scheduled: Scheduled<Void>?
    private var deadline: NIODeadline?

    /// Makes the timer fire no later than `deadline`; `fire` is asked for its callback only when
    /// the timer has to move, so a call that needs no new timer allocates nothing.
    mutating func arm(at deadline: NIODeadline, on eventLoop: any EventLoop, fire: () -> @Sendable () -> Void) {
        if let current = self.deadline, current <= deadline { return }
        schedule(at: deadline, on: eventLoop, fire: fire())
    }

    /// Schedules the timer for `deadline`, replacing the one it waits for.
    mutating func schedule(at deadline: NIODeadline, on eventLoop: any EventLoop, fire: @escaping @Sendable () -> Void)
    {
        scheduled?.cancel()
        self.deadline = deadline
        scheduled = eventLoop.scheduleTask(deadline: deadline, fire)
    }

    /// Forgets the timer that just fired; its callback calls this first.
    mutating func fired() {
        scheduled = nil
        deadline = nil
    }

    /// A timer callback that hands `handler` and `context` to `fired` on their event loop: the
    /// timer fires there, so the loop-bound values are only touched on their own thread.
    static func callback<Handler: AnyObject>(
        for handler: Handler, context: ChannelHandlerContext,
        _ fired: @escaping (Handler, ChannelHandlerContext) -> Void
    ) -> @Sendable () -> Void {
        let bound = NIOLoopBound((handler: handler, context: context, fired: fired), eventLoop: context.eventLoop)
        return {
            let (handler, context, fired) = bound.value
            fired(handler, context)
        }
    }

    /// Cancels the timer (the connection is gone).
    mutating func cancel() {
        scheduled?.cancel()
        fired()
    }
}
