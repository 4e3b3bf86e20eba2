import PostgresNIO

/// The daemon's two hot statements, prepared once per pooled connection.
///
/// A drain runs them hundreds of times a second per daemon, on a server that usually shares the
/// machine's cores: as named prepared statements each execution skips parsing and analysis (and,
/// once PostgreSQL settles on a generic plan, planning), and sends only Bind/Execute. Through a
/// transaction pooler a named statement prepared on one server connection is missing on the
/// next, so there they are sent unnamed (`PostgresStore.run(_:on:)`), the same SQL.
///
/// Each one turns `synchronous_commit` off for its own transaction: these commits need not wait
/// for the WAL flush, as SQLite's daemon connection uses synchronous=NORMAL (a claim or outcome
/// lost to a server crash only re-runs a job, never loses one). `set_config(…, true)` is
/// `SET LOCAL` inside the statement, so it costs no round trip and never outlives the
/// transaction: no session setting (and no startup parameter, which pgbouncer refuses) is
/// needed. The one-row subquery is evaluated once, before the commit, and whenever the
/// statement wrote a row; enqueues and operator commands stay durable.
enum PostgresDaemonStatements {
    /// Joined to a statement's result: makes its transaction's commit asynchronous.
    static let asynchronousCommit = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"

    /// Leases up to `limit` due jobs of `queue` to `owner` (see `PostgresStore.claim`).
    struct Claim: PostgresPreparedStatement {
        static let name = "dispatcher_claim_v4"
        static let sql = """
            WITH claimed AS (
            UPDATE dispatcher.jobs SET state = 'running', attempts = jobs.attempts + 1, lease_owner = $1,
                lease_until = dispatcher.dispatcher_now_ms() + COALESCE(jobs.timeout_ms, $2) + $3,
                started_at = dispatcher.dispatcher_now_ms()
            FROM (
                SELECT id FROM dispatcher.jobs
                WHERE queue = $4 AND \(JobSQL.claimable) AND run_at <= dispatcher.dispatcher_now_ms()
                    AND NOT EXISTS (SELECT 1 FROM dispatcher.paused_queues WHERE paused_queues.queue = $4)
                ORDER BY \(JobSQL.claimOrder) LIMIT $5
                FOR UPDATE SKIP LOCKED) picked
            WHERE jobs.id = picked.id
            RETURNING jobs.id, jobs.method, jobs.params, jobs.idempotency_key, jobs.priority, jobs.attempts,
                COALESCE(jobs.timeout_ms, $2), jobs.run_at, jobs.max_attempts)
            SELECT claimed.* FROM claimed, \(asynchronousCommit)
            """
        typealias Row = (Int64, String, String?, String?, Int64, Int64, Int64, Int64, Int64?)

        var owner: String
        var defaultTimeout: Int64
        var leaseMargin: Int64
        var queue: String
        var limit: Int64

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 5)
            bindings.append(owner)
            bindings.append(defaultTimeout)
            bindings.append(leaseMargin)
            bindings.append(queue)
            bindings.append(limit)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(Row.self)
        }
    }

    /// Applies a batch of outcomes of one queue's jobs, each only while its job is still leased
    /// to `owner` (see `PostgresStore.complete`).
    struct Complete: PostgresPreparedStatement {
        static let name = "dispatcher_complete_v5"
        // Each outcome is written as `JobLife` decided it: a retry is pending again, whatever
        // the job's limit (that was looked at once, before).
        static let sql = """
            WITH completed AS (
            UPDATE dispatcher.jobs SET
                state = CASE i.kind WHEN 'succeeded' THEN 'succeeded' WHEN 'failed' THEN 'failed' ELSE 'pending' END,
                result = CASE WHEN i.kind = 'succeeded' THEN i.result ELSE jobs.result END,
                last_error = CASE WHEN i.kind = '\(Completion.Kind.released.rawValue)' THEN jobs.last_error ELSE i.error END,
                finished_at = CASE WHEN i.kind IN ('succeeded', 'failed') THEN dispatcher.dispatcher_now_ms() END,
                run_at = CASE WHEN i.kind IN ('retry', '\(Completion.Kind.released.rawValue)')
                    THEN dispatcher.dispatcher_now_ms() + (i.run_at - $6) ELSE jobs.run_at END,
                attempts = CASE WHEN i.kind = '\(Completion.Kind.released.rawValue)' THEN greatest(jobs.attempts - 1, 0) ELSE jobs.attempts END,
                lease_owner = NULL, lease_until = NULL
            FROM unnest($1, $2, $3, $4, $5) AS i(id, kind, result, error, run_at)
            WHERE jobs.id = i.id AND jobs.state = 'running' AND jobs.lease_owner = $7 AND jobs.queue = $8
            RETURNING i.kind)
            SELECT completed.* FROM completed, \(asynchronousCommit)
            """
        typealias Row = String

        var ids: [Int64]
        var kinds: [String]
        var results: [String?]
        var errors: [String?]
        var runAts: [Int64?]
        var localNow: Int64
        var owner: String
        var queue: String

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 8)
            bindings.append(ids)
            bindings.append(kinds)
            bindings.append(PostgresNullableArray(results))
            bindings.append(PostgresNullableArray(errors))
            bindings.append(PostgresNullableArray(runAts))
            bindings.append(localNow)
            bindings.append(owner)
            bindings.append(queue)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {
            try row.decode(String.self)
        }
    }
}
