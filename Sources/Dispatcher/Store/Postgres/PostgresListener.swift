import Logging
import PostgresNIO

/// The daemon's one `LISTEN` connection: every notification on `PostgresStore.channel` wakes the
/// feeders. When the connection breaks it reconnects with capped backoff and listens again, and
/// signals once it is back (notifications sent meanwhile are lost). A slow safety poll signals
/// regardless, so a lost notification only delays a job; it never strands one.
///
/// The connection may go to another URL than the daemon's queries (`--listen-db`: a direct or
/// session-pooled one beside a transaction pooler), as long as it reaches the same database:
/// `NOTIFY` is delivered at commit to every session listening on that database, whichever
/// connection (or pooler) the notifying transaction came through.
struct PostgresListener: Sendable {
    /// Where to listen; nil: nowhere, the safety poll alone wakes the feeders.
    let url: PostgresURL?
    let safetyPoll: Duration
    let logger: Logger

    /// Listens until cancelled, calling `signal` on every wake-up.
    func run(signal: @escaping @Sendable () -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            if let url { group.addTask { await listen(url: url, signal: signal) } }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: safetyPoll)
                    signal()
                }
            }
            await group.waitForAll()
        }
    }

    private func listen(url: PostgresURL, signal: @escaping @Sendable () -> Void) async {
        var delay = Duration.milliseconds(100)
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await PostgresStore.connect(url: url, logger: logger)
                let listened: Result<Void, any Error>
                do {
                    try await withTaskCancellationHandler {
                        try await connection.listen(on: PostgresStore.channel) { notifications in
                            if failures > 0 {
                                logger.notice("listening for new jobs again", metadata: ["db": "\(url.redacted)"])
                            }
                            failures = 0
                            delay = .milliseconds(100)
                            // Whatever was enqueued while not listening is looked for now.
                            signal()
                            for try await _ in notifications {
                                signal()
                            }
                        }
                    } onCancel: {
                        connection.close().whenComplete { _ in }
                    }
                    listened = .success(())
                } catch {
                    listened = .failure(error)
                }
                // Closed, and the close awaited, on every path: postgres-nio asserts (in debug
                // builds) that a connection is closed before it is released, and a close only
                // started when the listen failed had not finished by then (a crash when the
                // server restarted). A broken connection must not linger either.
                try? await connection.close()
                try listened.get()
                if Task.isCancelled { return }
                failures += 1
                // One warning per outage; the daemon's store health reports the outage itself.
                logger.log(
                    level: failures == 1 ? .warning : .debug,
                    "the connection listening for new jobs closed; reconnecting",
                    metadata: ["db": "\(url.redacted)", "retry_in": "\(delay)"])
            } catch {
                if Task.isCancelled { return }
                failures += 1
                logger.log(
                    level: failures == 1 ? .warning : .debug, "listening for new jobs failed; reconnecting",
                    metadata: [
                        "db": "\(url.redacted)", "error": "\(PostgresErrors.cause(of: error))",
                        "retry_in": "\(delay)",
                    ])
            }
            if Task.isCancelled { return }
            signal()
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }
}

/// Wake-ups on PostgreSQL: `LISTEN/NOTIFY` heard by the daemon's listener, its safety poll, and
/// this process's own releases and retries.
struct PostgresChangeNotifier: ChangeNotifier {
    let broadcast: ChangeBroadcast

    func mark() async -> ChangeMark {
        ChangeMark(generation: broadcast.generation)
    }

    func wait(after mark: ChangeMark) async {
        await broadcast.wait(after: mark.generation)
    }
}
