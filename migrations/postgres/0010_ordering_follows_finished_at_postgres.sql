-- A key's unfinished jobs are those with `finished_at IS NULL`, as on SQLite (migration 0011
-- there, which says why): the index and the trigger functions read that predicate
-- (JobSQL.holdsOrderingKey). Every statement that finishes a job sets `finished_at`, and every
-- statement that sends a finished job back clears it; the triggers still fire on `state`.
DROP INDEX jobs_ordering;

CREATE INDEX jobs_ordering ON jobs (queue, ordering_key, id)
WHERE ordering_key IS NOT NULL AND finished_at IS NULL;

CREATE OR REPLACE FUNCTION dispatcher_ordering_wait() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(dispatcher_ordering_lock(NEW.queue, NEW.ordering_key));
    NEW.blocked := EXISTS (
        SELECT 1 FROM jobs
        WHERE queue = NEW.queue AND ordering_key = NEW.ordering_key AND finished_at IS NULL
          AND id <> NEW.id);
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION dispatcher_ordering_next() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(dispatcher_ordering_lock(NEW.queue, NEW.ordering_key));
    UPDATE jobs SET blocked = false
    WHERE blocked AND id = (
        SELECT id FROM jobs
        WHERE queue = NEW.queue AND ordering_key = NEW.ordering_key AND finished_at IS NULL
        ORDER BY id LIMIT 1);
    IF FOUND THEN
        PERFORM pg_notify('dispatcher_jobs', '');
    END IF;
    RETURN NULL;
END
$$;
