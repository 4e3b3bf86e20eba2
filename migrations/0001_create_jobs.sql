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

-- The feeder's claim query: the next runnable jobs of one queue, by priority then due time.
CREATE INDEX jobs_claim ON jobs (queue, state, priority DESC, run_at, id);

-- Idempotency keys are unique per queue; jobs without a key are not constrained.
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- The reaper's scan for expired leases.
CREATE INDEX jobs_lease ON jobs (lease_until) WHERE state = 'running';

-- Lease renewal: a daemon extends the leases of the jobs it holds.
CREATE INDEX jobs_running_owner ON jobs (lease_owner) WHERE state = 'running';
