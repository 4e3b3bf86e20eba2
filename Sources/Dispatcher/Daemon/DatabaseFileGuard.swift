import Logging
import ServiceLifecycle

/// Watches that the daemon's SQLite file is still the file at its path, once a second.
///
/// When it was removed or replaced, the daemon is working on a file no new job will ever reach
/// (a silent split brain): the guard logs an error naming the path, turns `/healthz` to 503 with
/// the reason, and throws. `dispatcher run` runs it in the service group with
/// `failureTerminationBehavior: .gracefullyShutdownGroup`, so the daemon then drains as on
/// SIGTERM — buffered jobs released and in-flight outcomes written, to the old file, which is
/// all that can be done — and exits non-zero, for its supervisor to restart it on the right
/// file. PostgreSQL has no such file: no guard.
struct DatabaseFileGuard: Service {
    let path: String
    /// The file the daemon opened.
    let opened: DatabaseFileIdentity
    /// How often the path is checked: one `stat`, about a microsecond.
    var interval: Duration = .seconds(1)
    let health: HealthState
    let logger: Logger
    /// What the checks are paced on.
    let clock: DaemonClock

    /// A guard for the store's file at `path` (`DaemonStore.guardedFile`), taking its identity
    /// now (call it right after the daemon opened the store); nil for a store without a file,
    /// or when the file cannot be found.
    init?(watching path: String?, health: HealthState, logger: Logger, clock: DaemonClock = DaemonClock()) {
        guard let path, case .success(let identity) = DatabaseFileIdentity.current(path: path) else { return nil }
        self.clock = clock
        self.path = path
        self.opened = identity
        self.health = health
        self.logger = logger
    }

    /// Checks until graceful shutdown; throws when the file was replaced or removed.
    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await clock.sleep(interval) }
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            guard let change = opened.change(given: DatabaseFileIdentity.current(path: path)) else { continue }
            let message = "database file \(path) was \(change.description) under the running daemon"
            health.update { $0.databaseFileFault = message }
            logger.error(
                "\(message); shutting down so that a restart opens the file now at that path",
                metadata: ["db": "\(path)", "change": "\(change)"])
            throw DispatcherError("\(message); exiting so that a restart opens the file now at that path")
        }
    }
}
