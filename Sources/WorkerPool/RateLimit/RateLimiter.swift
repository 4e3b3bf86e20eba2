import Synchronization

/// A queue's rate limit: one `TokenBucket` shared by the queue's workers. A worker takes a
/// token just before each call; without one it sleeps until the bucket says a token is due and
/// asks again, so the instants tokens are granted (and calls are written) obey the bucket.
public final class RateLimiter: Sendable {
    public typealias Bucket = TokenBucket<ContinuousClock.Instant>

    private let bucket: Mutex<Bucket>

    public init(configuration: Bucket.Configuration) {
        bucket = Mutex(Bucket(configuration: configuration))
    }

    /// Waits for a token.
    ///
    /// - Throws: `CancellationError` when the task is cancelled (graceful shutdown cancels the
    ///   wait); no token was taken then.
    public func acquire() async throws {
        while true {
            let answer = bucket.withLock { $0.take(now: .now) }
            switch answer {
            case .granted:
                return
            case .wait(let until):
                try await Task.sleep(until: until, clock: .continuous)
            }
        }
    }
}
