import NIOCore

/// The life of one worker's connection, the same for every transport: `body` makes the calls,
/// then the channel closes, whether `body` returned or threw.
///
/// One cancellation handler covers the connection's whole life, not one per call (each
/// registers and removes a task status record under a lock): a cancelled worker's call in
/// flight ends through `cancel` (run on the channel's event loop) and the connection closes, as
/// its state is unknown; a call made after that fails at once.
enum ConnectionLifetime {
    static func run<Connection, Result: Sendable>(
        _ connection: inout Connection, on channel: any Channel, cancel: @escaping @Sendable () -> Void,
        _ body: (inout Connection) async throws -> Result
    ) async throws -> Result {
        let result: Result
        do {
            result = try await withTaskCancellationHandler {
                try await body(&connection)
            } onCancel: {
                let eventLoop = channel.eventLoop
                if eventLoop.inEventLoop {
                    cancel()
                } else {
                    eventLoop.execute(cancel)
                }
            }
        } catch {
            try? await channel.close()
            throw error
        }
        try? await channel.close()
        return result
    }
}
