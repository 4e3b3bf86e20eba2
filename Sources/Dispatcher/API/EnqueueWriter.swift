import Synchronization

/// Writes the HTTP API's enqueues through one store connection, a group of requests per
/// transaction (group commit).
///
/// Every request is durable before it is answered, as `dispatcher enqueue` is, and a durable
/// commit costs a flush to disk whatever it holds. So while one transaction commits, the
/// requests that arrive meanwhile wait together and go in the next one: eight clients posting
/// one job each cost one flush per group of them, not one per job, and a lone request waits for
/// nothing but its own commit. One writer also means one connection that never runs two
/// transactions at once (a PostgreSQL connection cannot).
///
/// A group holds at most `maximumJobs` jobs, so a batch chunk (as large) commits alone: a killed
/// daemon leaves whole chunks. A failed transaction fails every request in it; each gets the
/// store's error, none is half-written.
final class EnqueueWriter: Sendable {
    /// The most jobs in one transaction: the CLI's batch chunk.
    static let maximumJobs = 10_000

    private struct Waiting {
        var jobs: [NewJob]
        var continuation: CheckedContinuation<[EnqueueResult], any Error>
    }

    private struct State {
        var waiting = [Waiting]()
        /// Whether a writer task is running; it keeps going until nothing waits.
        var writing = false
    }

    let store: any OperatorStore
    private let state = Mutex(State())

    init(store: any OperatorStore) {
        self.store = store
    }

    /// Enqueues `jobs` (at most `maximumJobs`) in one transaction, perhaps with other requests'
    /// jobs, and returns their results in order once it committed.
    func enqueue(_ jobs: [NewJob]) async throws -> [EnqueueResult] {
        precondition(jobs.count <= Self.maximumJobs)
        guard !jobs.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let startWriter = state.withLock { state in
                state.waiting.append(Waiting(jobs: jobs, continuation: continuation))
                defer { state.writing = true }
                return !state.writing
            }
            if startWriter { Task { await self.write() } }
        }
    }

    /// Commits groups until no request waits.
    private func write() async {
        while let group = nextGroup() {
            let jobs = group.count == 1 ? group[0].jobs : group.flatMap(\.jobs)
            do {
                // Due times were set from each request's arrival; against this `now` PostgreSQL
                // keeps each delay counted from that arrival, in the database's clock.
                let results = try await store.enqueue(jobs, now: WallClock.nowMilliseconds())
                var start = 0
                for request in group {
                    request.continuation.resume(returning: Array(results[start..<start + request.jobs.count]))
                    start += request.jobs.count
                }
            } catch {
                for request in group { request.continuation.resume(throwing: error) }
            }
        }
    }

    /// The waiting requests that fit in one transaction, oldest first; nil (and the writer stops)
    /// when none waits.
    private func nextGroup() -> [Waiting]? {
        state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.writing = false
                return nil
            }
            var count = 0
            var taken = 0
            for request in state.waiting {
                if taken > 0 && count + request.jobs.count > Self.maximumJobs { break }
                count += request.jobs.count
                taken += 1
            }
            defer { state.waiting.removeFirst(taken) }
            return Array(state.waiting[..<taken])
        }
    }
}
