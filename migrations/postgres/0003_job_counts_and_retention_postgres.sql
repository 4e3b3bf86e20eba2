-- Exact job counts kept by the database itself, so `stats`, `top`, the dashboard and the
-- gauges read a few rows instead of counting the jobs table (which costs O(jobs)).
--
-- A bucket is the job's state, except that pending jobs already attempted ("retrying") have
-- their own bucket; pending = pending + retrying. A queue's count in a bucket is the SUM over
-- its slots. Many daemons write at once here, and a single counter row per (queue, bucket)
-- would serialise every claim and completion behind one row lock; so each writing transaction
-- adds its deltas to a slot no concurrent transaction uses (see dispatcher_count_slot), and
-- writers never wait for each other on these rows. Slots are few (64), so readers sum at most
-- 64 rows per queue and bucket; a slot's own count may be negative.
-- Statement-level triggers with transition tables fold a whole statement (a claim of 100 jobs,
-- a batch of outcomes, a prune of 1,000 rows) into one upsert per touched (queue, bucket).
CREATE TABLE job_counts (
    queue  TEXT    NOT NULL,
    bucket TEXT    NOT NULL
           CHECK (bucket IN ('pending', 'retrying', 'running', 'succeeded', 'failed', 'cancelled')),
    slot   INTEGER NOT NULL,
    count  BIGINT  NOT NULL,
    PRIMARY KEY (queue, bucket, slot)
);

-- No writer may change jobs between the initial count and the triggers' creation; this
-- migration's transaction holds the lock until it commits.
LOCK TABLE jobs IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO job_counts (queue, bucket, slot, count)
SELECT queue, CASE WHEN state = 'pending' AND attempts > 0 THEN 'retrying' ELSE state END, 0, count(*)
FROM jobs GROUP BY 1, 2;

-- The slot this transaction writes its deltas to: the first, from the backend's own, whose
-- transaction-scoped advisory lock it gets without waiting (or already holds). So two open
-- transactions never share a slot, and no counter row is ever waited for or deadlocked on.
-- With more than 64 concurrent writers the last resort is the backend's own slot, where a
-- writer may briefly wait for another's commit.
CREATE FUNCTION dispatcher_count_slot() RETURNS INTEGER LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    first INTEGER := pg_backend_pid() % 64;
BEGIN
    FOR step IN 0..63 LOOP
        IF pg_try_advisory_xact_lock(1685287779, (first + step) % 64) THEN
            RETURN (first + step) % 64;
        END IF;
    END LOOP;
    RETURN first;
END
$$;

CREATE FUNCTION dispatcher_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_counts AS c (queue, bucket, slot, count)
    SELECT d.queue, d.bucket, dispatcher_count_slot(), d.delta FROM (
        SELECT queue, CASE WHEN state = 'pending' AND attempts > 0 THEN 'retrying' ELSE state END AS bucket,
               count(*) AS delta
        FROM new_jobs GROUP BY 1, 2) d
    ORDER BY d.queue, d.bucket
    ON CONFLICT (queue, bucket, slot) DO UPDATE SET count = c.count + excluded.count;
    RETURN NULL;
END
$$;

CREATE FUNCTION dispatcher_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_counts AS c (queue, bucket, slot, count)
    SELECT d.queue, d.bucket, dispatcher_count_slot(), d.delta FROM (
        SELECT queue, CASE WHEN state = 'pending' AND attempts > 0 THEN 'retrying' ELSE state END AS bucket,
               -count(*) AS delta
        FROM old_jobs GROUP BY 1, 2) d
    ORDER BY d.queue, d.bucket
    ON CONFLICT (queue, bucket, slot) DO UPDATE SET count = c.count + excluded.count;
    RETURN NULL;
END
$$;

-- Lease renewals and the like change no bucket: their deltas cancel out and nothing is written.
CREATE FUNCTION dispatcher_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_counts AS c (queue, bucket, slot, count)
    SELECT d.queue, d.bucket, dispatcher_count_slot(), d.delta FROM (
        SELECT queue, bucket, sum(delta) AS delta FROM (
            SELECT queue, CASE WHEN state = 'pending' AND attempts > 0 THEN 'retrying' ELSE state END AS bucket,
                   -1 AS delta
            FROM old_jobs
            UNION ALL
            SELECT queue, CASE WHEN state = 'pending' AND attempts > 0 THEN 'retrying' ELSE state END, 1
            FROM new_jobs) moves
        GROUP BY 1, 2 HAVING sum(delta) <> 0) d
    ORDER BY d.queue, d.bucket
    ON CONFLICT (queue, bucket, slot) DO UPDATE SET count = c.count + excluded.count;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION dispatcher_count_inserted();

CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs REFERENCING OLD TABLE AS old_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION dispatcher_count_deleted();

CREATE TRIGGER jobs_count_update AFTER UPDATE ON jobs REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION dispatcher_count_updated();

-- Retention (the daemon's pruner): finished jobs of one state and queue, oldest first, so a
-- batch delete reads only rows past their horizon, whatever other queues and states keep.
CREATE INDEX jobs_retention ON jobs (queue, state, finished_at) WHERE finished_at IS NOT NULL;

-- Leases on maintenance work that one daemon at a time must do (the pruner), among all the
-- daemons sharing the database. A lease is held while `expires_at` (database clock) is ahead.
CREATE TABLE maintenance_leases (
    name       TEXT   PRIMARY KEY,
    owner      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
