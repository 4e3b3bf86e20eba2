-- Ordering keys: among a queue's jobs with the same `ordering_key`, at most one runs at a time,
-- and they start in id order. A later job waits while an earlier one is pending (retrying
-- included) or running; a job that succeeds, fails for good or is cancelled lets the next one
-- proceed. Jobs without a key are unaffected.
--
-- The rule is kept in the rows, not looked for at every claim: `blocked` is 1 for a job that
-- waits behind an earlier job of its key, and the claim index leaves such jobs out, so a claim
-- costs the same with a million jobs waiting behind a few keys as with none. The triggers below
-- keep `blocked` for every writer: the daemons' statements, the commands, the dashboard and any
-- SQL typed into the sqlite3 shell (the dispatcher's own enqueue, which runs with its
-- connection's triggers switched off, applies the insert rule in its own statement).
ALTER TABLE jobs ADD COLUMN ordering_key TEXT;

ALTER TABLE jobs ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;

-- The claim index holds the jobs a claim may take (JobSQL.claimable has the same text).
DROP INDEX jobs_pending;

CREATE INDEX jobs_pending ON jobs (queue, priority DESC, run_at, id) WHERE state = 'pending' AND blocked = FALSE;

-- A key's unfinished jobs in id order: the first is the one that may run.
CREATE INDEX jobs_ordering ON jobs (queue, ordering_key, id)
WHERE ordering_key IS NOT NULL AND state IN ('pending', 'running');

CREATE TRIGGER jobs_validate_ordering_key BEFORE INSERT ON jobs
WHEN NEW.ordering_key IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'ordering_key: 1 to 1024 bytes')
    WHERE typeof(NEW.ordering_key) != 'text' OR length(CAST(NEW.ordering_key AS BLOB)) NOT BETWEEN 1 AND 1024;
END;

-- A new job waits behind any unfinished job of its key (all of them are earlier).
CREATE TRIGGER jobs_ordering_insert AFTER INSERT ON jobs
WHEN NEW.ordering_key IS NOT NULL
BEGIN
    UPDATE jobs SET blocked = TRUE
    WHERE id = NEW.id AND EXISTS (
        SELECT 1 FROM jobs AS earlier
        WHERE earlier.queue = NEW.queue AND earlier.ordering_key = NEW.ordering_key
          AND earlier.state IN ('pending', 'running') AND earlier.id < NEW.id);
END;

-- The job that held its key finished (succeeded, failed for good, cancelled): the earliest
-- unfinished job of the key may run next.
CREATE TRIGGER jobs_ordering_next AFTER UPDATE OF state ON jobs
WHEN OLD.ordering_key IS NOT NULL AND OLD.blocked = 0 AND OLD.state IN ('pending', 'running')
  AND NEW.state IN ('succeeded', 'failed', 'cancelled')
BEGIN
    UPDATE jobs SET blocked = FALSE
    WHERE blocked = TRUE AND id = (
        SELECT id FROM jobs
        WHERE queue = NEW.queue AND ordering_key = NEW.ordering_key AND state IN ('pending', 'running')
        ORDER BY id LIMIT 1);
END;

-- A finished job sent back to pending (`dispatcher retry`, the dashboard) waits while any other
-- job of its key is unfinished, and is the next to run once that one finishes (the earliest id).
CREATE TRIGGER jobs_ordering_again AFTER UPDATE OF state ON jobs
WHEN NEW.ordering_key IS NOT NULL AND OLD.state IN ('succeeded', 'failed', 'cancelled') AND NEW.state = 'pending'
BEGIN
    UPDATE jobs SET blocked = EXISTS (
        SELECT 1 FROM jobs AS other
        WHERE other.queue = NEW.queue AND other.ordering_key = NEW.ordering_key
          AND other.state IN ('pending', 'running') AND other.id <> NEW.id)
    WHERE id = NEW.id;
END;

-- The `enqueue` view takes an ordering key too (its last column, so an INSERT naming its columns
-- means what it meant before).
DROP VIEW enqueue;

CREATE VIEW enqueue AS
SELECT method, params, queue, idempotency_key AS key, priority, 0 AS delay_ms, max_attempts, timeout_ms, ordering_key
FROM jobs WHERE 0;

CREATE TRIGGER enqueue_insert INSTEAD OF INSERT ON enqueue
BEGIN
    SELECT RAISE(ABORT, 'delay_ms: must be an integer from 0 to 315360000000 (10 years)')
    WHERE NEW.delay_ms IS NOT NULL
      AND (typeof(NEW.delay_ms) != 'integer' OR NEW.delay_ms NOT BETWEEN 0 AND 315360000000);
    INSERT INTO jobs (queue, method, params, idempotency_key, priority, max_attempts, run_at, timeout_ms, created_at,
                      ordering_key)
    VALUES (coalesce(NEW.queue, 'default'), NEW.method, NEW.params, NEW.key, coalesce(NEW.priority, 0),
            NEW.max_attempts,
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) + coalesce(NEW.delay_ms, 0),
            NEW.timeout_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), NEW.ordering_key)
    ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING;
END;
