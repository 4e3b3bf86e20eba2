-- The durable job queue. Times are integer milliseconds since the Unix epoch.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    queue           TEXT    NOT NULL DEFAULT 'default',
    method          TEXT    NOT NULL,
    params          TEXT,   -- JSON object or array as sent; NULL omits params from the call
    idempotency_key TEXT,
    priority        INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts    INTEGER CHECK (max_attempts IS NULL OR max_attempts >= 1),  -- NULL: the queue's default
    run_at          INTEGER NOT NULL,
    timeout_ms      INTEGER CHECK (timeout_ms IS NULL OR timeout_ms > 0),      -- NULL: the queue's default
    lease_owner     TEXT,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER,
    last_error      TEXT,
    result          TEXT
);

-- Indexes are partial where they can be, so a job's trip through its states touches as few
-- B-trees as possible: the hot path (pending -> running -> succeeded) updates only
-- jobs_pending (left at claim) and jobs_running (entered at claim, left at completion).

-- The feeder's claim query: the next due jobs of one queue, by priority then due time.
CREATE INDEX jobs_pending ON jobs (queue, priority DESC, run_at, id) WHERE state = 'pending';

-- Jobs held by daemons: lease renewal by owner, and the reaper's scan for expired leases
-- (the running set is small, so scanning this whole index is cheap).
CREATE INDEX jobs_running ON jobs (lease_owner) WHERE state = 'running';

-- The dead set, for `list --state failed` and `retry --state failed` on a large history.
CREATE INDEX jobs_failed ON jobs (id) WHERE state = 'failed';

-- Recent activity for `stats` and `top`: throughput and latencies of the last minute.
-- finished_at only grows, so this index is appended to, not reshuffled.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

-- Idempotency keys are unique per queue; jobs without a key are not constrained.
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;
