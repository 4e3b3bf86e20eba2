-- Exact job counts kept by the database itself, so `stats`, `top`, the dashboard and the
-- gauges read a few rows instead of counting the jobs table (which costs O(jobs)).
--
-- One row per queue and bucket. A bucket is the job's state, except that pending jobs already
-- attempted (shown as "retrying") have their own bucket 'retrying'; pending = pending + retrying.
-- Triggers keep the rows exact on every insert, delete and change of state or attempts, in the
-- same transaction as the change: SQLite has one writer, so the rows are never contended.
-- Rows that fall to zero stay (readers skip them): no churn for a queue that drains and refills.
-- Buckets come only from the triggers (states are CHECKed in jobs); a CHECK here would cost
-- every trigger run a statement journal (scripts/bench-retention.py triggers measures the cost).
CREATE TABLE job_counts (
    queue  TEXT    NOT NULL,
    bucket TEXT    NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (queue, bucket)
) WITHOUT ROWID;

INSERT INTO job_counts (queue, bucket, count)
SELECT queue, CASE WHEN state = 'pending' AND attempts > 0 THEN 'retrying' ELSE state END, count(*)
FROM jobs GROUP BY 1, 2;

CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs
BEGIN
    INSERT INTO job_counts (queue, bucket, count)
    VALUES (new.queue, CASE WHEN new.state = 'pending' AND new.attempts > 0 THEN 'retrying' ELSE new.state END, 1)
    ON CONFLICT (queue, bucket) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs
BEGIN
    UPDATE job_counts SET count = count - 1
    WHERE queue = old.queue
      AND bucket = CASE WHEN old.state = 'pending' AND old.attempts > 0 THEN 'retrying' ELSE old.state END;
END;

-- Only changes that move a job between buckets fire this (not lease renewals, not results).
CREATE TRIGGER jobs_count_update AFTER UPDATE OF queue, state, attempts ON jobs
WHEN old.queue IS NOT new.queue
  OR (CASE WHEN old.state = 'pending' AND old.attempts > 0 THEN 'retrying' ELSE old.state END)
     IS NOT (CASE WHEN new.state = 'pending' AND new.attempts > 0 THEN 'retrying' ELSE new.state END)
BEGIN
    -- One statement for both rows: each statement a trigger runs costs more than its row.
    INSERT INTO job_counts (queue, bucket, count)
    VALUES (old.queue, CASE WHEN old.state = 'pending' AND old.attempts > 0 THEN 'retrying' ELSE old.state END, -1),
           (new.queue, CASE WHEN new.state = 'pending' AND new.attempts > 0 THEN 'retrying' ELSE new.state END, 1)
    ON CONFLICT (queue, bucket) DO UPDATE SET count = count + excluded.count;
END;

-- Retention (the daemon's pruner): finished jobs of one state and queue, oldest first, so a
-- batch delete reads only rows past their horizon, whatever other queues and states keep.
-- Partial on finished_at (set only by finishing), not on state: a claim changes state but never
-- finished_at, so claims do not touch this index at all. Queue first: the last minute's
-- activity (state IN (…) AND finished_at >= …) cannot seek into it and keeps using jobs_finished.
CREATE INDEX jobs_retention ON jobs (queue, state, finished_at) WHERE finished_at IS NOT NULL;

-- Leases on maintenance work that one daemon at a time must do (the pruner), among all the
-- daemons sharing the database. A lease is held while `expires_at` is in the future.
CREATE TABLE maintenance_leases (
    name       TEXT    PRIMARY KEY,
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
