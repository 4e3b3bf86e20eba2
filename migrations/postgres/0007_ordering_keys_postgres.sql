-- Ordering keys (see the SQLite migration 0008 for the rule): among a queue's jobs with the same
-- `ordering_key` at most one runs at a time, in id order. `blocked` marks a job waiting behind an
-- earlier job of its key; the claim index leaves such jobs out, so a claim stays as cheap with a
-- million waiting jobs as with none. The triggers keep `blocked` for every writer.
--
-- Writers of one key are serialized by a transaction-scoped advisory lock on (queue, key): an
-- enqueue deciding "an earlier job is unfinished" and the completion of that earlier job must not
-- pass each other (under READ COMMITTED each would miss the other's uncommitted row, and the new
-- job would wait for ever). Each statement in a trigger function reads a fresh snapshot, taken
-- after the lock is held, so it sees whatever the lock's previous holder committed.
ALTER TABLE jobs ADD COLUMN ordering_key text, ADD COLUMN blocked boolean NOT NULL DEFAULT false;

ALTER TABLE jobs ADD CONSTRAINT jobs_ordering_key_length
    CHECK (ordering_key IS NULL OR octet_length(ordering_key) BETWEEN 1 AND 1024);

DROP INDEX jobs_pending;

-- The claim index holds the jobs a claim may take (JobSQL.claimable has the same text).
CREATE INDEX jobs_pending ON jobs (queue, priority DESC, run_at, id) WHERE state = 'pending' AND blocked = FALSE;

-- A key's unfinished jobs in id order: the first is the one that may run.
CREATE INDEX jobs_ordering ON jobs (queue, ordering_key, id)
WHERE ordering_key IS NOT NULL AND state IN ('pending', 'running');

-- The advisory lock of one queue's key. A batch that enqueues several keys takes their locks
-- first, in this number's order (PostgresStore.enqueue), so two batches never wait on each other
-- in a cycle.
CREATE FUNCTION dispatcher_ordering_lock(queue text, key text) RETURNS bigint LANGUAGE sql IMMUTABLE
    AS $$ SELECT hashtextextended(queue || E'\n' || key, 0) $$;

-- A new job, or a finished one sent back to pending (`dispatcher retry`, the dashboard), waits
-- while any other job of its key is unfinished.
CREATE FUNCTION dispatcher_ordering_wait() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(dispatcher_ordering_lock(NEW.queue, NEW.ordering_key));
    NEW.blocked := EXISTS (
        SELECT 1 FROM jobs
        WHERE queue = NEW.queue AND ordering_key = NEW.ordering_key AND state IN ('pending', 'running')
          AND id <> NEW.id);
    RETURN NEW;
END
$$;

CREATE TRIGGER jobs_ordering_insert BEFORE INSERT ON jobs
FOR EACH ROW WHEN (NEW.ordering_key IS NOT NULL) EXECUTE FUNCTION dispatcher_ordering_wait();

CREATE TRIGGER jobs_ordering_again BEFORE UPDATE OF state ON jobs
FOR EACH ROW WHEN (NEW.ordering_key IS NOT NULL AND OLD.state IN ('succeeded', 'failed', 'cancelled')
    AND NEW.state = 'pending')
EXECUTE FUNCTION dispatcher_ordering_wait();

-- The job that held its key finished (succeeded, failed for good, cancelled): the earliest
-- unfinished job of the key may run next, and the listening daemons hear of it at the commit.
CREATE FUNCTION dispatcher_ordering_next() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(dispatcher_ordering_lock(NEW.queue, NEW.ordering_key));
    UPDATE jobs SET blocked = false
    WHERE blocked AND id = (
        SELECT id FROM jobs
        WHERE queue = NEW.queue AND ordering_key = NEW.ordering_key AND state IN ('pending', 'running')
        ORDER BY id LIMIT 1);
    IF FOUND THEN
        PERFORM pg_notify('dispatcher_jobs', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_ordering_next AFTER UPDATE OF state ON jobs
FOR EACH ROW WHEN (OLD.ordering_key IS NOT NULL AND NOT OLD.blocked AND OLD.state IN ('pending', 'running')
    AND NEW.state IN ('succeeded', 'failed', 'cancelled'))
EXECUTE FUNCTION dispatcher_ordering_next();

-- dispatcher.enqueue() takes the ordering key as its last argument, so every call written for the
-- function before (positional or named) means what it meant.
DROP FUNCTION dispatcher.enqueue(text, jsonb, text, text, integer, timestamptz, integer, interval);

CREATE FUNCTION dispatcher.enqueue(
    method text, params jsonb DEFAULT NULL, queue text DEFAULT 'default', key text DEFAULT NULL,
    priority int DEFAULT 0, run_at timestamptz DEFAULT now(), max_attempts int DEFAULT NULL,
    timeout interval DEFAULT NULL, ordering_key text DEFAULT NULL
) RETURNS bigint LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
-- The arguments are named as the columns are; in the statements below a bare name is the
-- column, and `enqueue.NAME` the argument.
#variable_conflict use_column
DECLARE
    new_id bigint;
BEGIN
    IF enqueue.method IS NULL OR octet_length(enqueue.method) NOT BETWEEN 1 AND 1024 THEN
        RAISE EXCEPTION 'method: required, 1 to 1024 bytes' USING ERRCODE = '22023';
    END IF;
    IF enqueue.params IS NOT NULL AND jsonb_typeof(enqueue.params) NOT IN ('object', 'array') THEN
        RAISE EXCEPTION 'params: must be a JSON object or array' USING ERRCODE = '22023';
    END IF;
    IF enqueue.queue IS NULL OR octet_length(enqueue.queue) NOT BETWEEN 1 AND 1024 THEN
        RAISE EXCEPTION 'queue: 1 to 1024 bytes' USING ERRCODE = '22023';
    END IF;
    IF enqueue.key IS NOT NULL AND octet_length(enqueue.key) NOT BETWEEN 1 AND 1024 THEN
        RAISE EXCEPTION 'key: 1 to 1024 bytes' USING ERRCODE = '22023';
    END IF;
    IF enqueue.priority IS NULL OR enqueue.priority NOT BETWEEN -1000000 AND 1000000 THEN
        RAISE EXCEPTION 'priority: must be from -1000000 to 1000000' USING ERRCODE = '22023';
    END IF;
    IF enqueue.run_at IS NULL OR enqueue.run_at > now() + interval '10 years' THEN
        RAISE EXCEPTION 'run_at: required, at most 10 years ahead' USING ERRCODE = '22023';
    END IF;
    IF enqueue.max_attempts IS NOT NULL AND enqueue.max_attempts NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'max_attempts: must be from 1 to 1000000' USING ERRCODE = '22023';
    END IF;
    IF enqueue.timeout IS NOT NULL
        AND (enqueue.timeout < interval '1 millisecond' OR enqueue.timeout > interval '24 hours') THEN
        RAISE EXCEPTION 'timeout: must be from 1ms to 24h' USING ERRCODE = '22023';
    END IF;
    IF enqueue.ordering_key IS NOT NULL AND octet_length(enqueue.ordering_key) NOT BETWEEN 1 AND 1024 THEN
        RAISE EXCEPTION 'ordering_key: 1 to 1024 bytes' USING ERRCODE = '22023';
    END IF;
    INSERT INTO jobs AS j (queue, method, params, idempotency_key, priority, max_attempts, run_at, timeout_ms,
        created_at, ordering_key)
    VALUES (enqueue.queue, enqueue.method, enqueue.params::text, enqueue.key, enqueue.priority, enqueue.max_attempts,
        (extract(epoch FROM enqueue.run_at) * 1000)::bigint,
        (extract(epoch FROM enqueue.timeout) * 1000)::bigint, dispatcher_now_ms(), enqueue.ordering_key)
    ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING j.id INTO new_id;
    IF new_id IS NULL THEN
        SELECT j.id INTO new_id FROM jobs j WHERE j.queue = enqueue.queue AND j.idempotency_key = enqueue.key;
    END IF;
    RETURN new_id;
END
$$;
