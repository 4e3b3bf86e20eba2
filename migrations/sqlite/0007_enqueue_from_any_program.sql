-- Enqueue from any program: `INSERT INTO enqueue (method, params) VALUES ('m', '{"a":1}')` from
-- the sqlite3 shell or any language's SQLite driver. The view's INSTEAD OF trigger fills what
-- the dispatcher's own enqueue fills (queue 'default', priority 0, due now plus delay_ms, the
-- created time); a known key in the queue creates nothing, as `dispatcher enqueue --key` does.
-- The running daemons' WAL watcher sees the commit and claims the job within milliseconds.
CREATE VIEW enqueue AS
SELECT method, params, queue, idempotency_key AS key, priority, 0 AS delay_ms, max_attempts, timeout_ms
FROM jobs WHERE 0;

CREATE TRIGGER enqueue_insert INSTEAD OF INSERT ON enqueue
BEGIN
    SELECT RAISE(ABORT, 'delay_ms: must be an integer from 0 to 315360000000 (10 years)')
    WHERE NEW.delay_ms IS NOT NULL
      AND (typeof(NEW.delay_ms) != 'integer' OR NEW.delay_ms NOT BETWEEN 0 AND 315360000000);
    INSERT INTO jobs (queue, method, params, idempotency_key, priority, max_attempts, run_at, timeout_ms, created_at)
    VALUES (coalesce(NEW.queue, 'default'), NEW.method, NEW.params, NEW.key, coalesce(NEW.priority, 0),
            NEW.max_attempts,
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) + coalesce(NEW.delay_ms, 0),
            NEW.timeout_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
    ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING;
END;

-- The rules `dispatcher enqueue` checks (JobInput), for every other writer: a new row with an
-- empty or over-long name, params that are not one JSON object or array, or a number out of its
-- range is refused, with the column named. The dispatcher's own enqueue switches its
-- connection's triggers off for its insert (it has checked every value already, and counts the
-- jobs itself: JobCountMoves), so this costs its batches nothing. A trigger rather than a CHECK:
-- SQLite adds CHECKs only by rebuilding the table.
CREATE TRIGGER jobs_validate_insert BEFORE INSERT ON jobs
BEGIN
    SELECT RAISE(ABORT, 'method: required, 1 to 1024 bytes')
    WHERE NEW.method IS NULL OR typeof(NEW.method) != 'text' OR length(CAST(NEW.method AS BLOB)) NOT BETWEEN 1 AND 1024;
    SELECT RAISE(ABORT, 'queue: 1 to 1024 bytes')
    WHERE typeof(NEW.queue) != 'text' OR length(CAST(NEW.queue AS BLOB)) NOT BETWEEN 1 AND 1024;
    SELECT RAISE(ABORT, 'key: 1 to 1024 bytes')
    WHERE NEW.idempotency_key IS NOT NULL
      AND (typeof(NEW.idempotency_key) != 'text' OR length(CAST(NEW.idempotency_key AS BLOB)) NOT BETWEEN 1 AND 1024);
    SELECT RAISE(ABORT, 'params: must be a JSON object or array')
    WHERE NEW.params IS NOT NULL
      AND (typeof(NEW.params) != 'text' OR NOT json_valid(NEW.params) OR json_type(NEW.params) NOT IN ('object', 'array'));
    SELECT RAISE(ABORT, 'priority: must be an integer from -1000000 to 1000000')
    WHERE typeof(NEW.priority) != 'integer' OR NEW.priority NOT BETWEEN -1000000 AND 1000000;
    SELECT RAISE(ABORT, 'max_attempts: must be an integer from 1 to 1000000')
    WHERE NEW.max_attempts IS NOT NULL
      AND (typeof(NEW.max_attempts) != 'integer' OR NEW.max_attempts NOT BETWEEN 1 AND 1000000);
    SELECT RAISE(ABORT, 'timeout_ms: must be an integer from 1 to 86400000 (24h)')
    WHERE NEW.timeout_ms IS NOT NULL
      AND (typeof(NEW.timeout_ms) != 'integer' OR NEW.timeout_ms NOT BETWEEN 1 AND 86400000);
END;
