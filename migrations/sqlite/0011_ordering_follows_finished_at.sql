-- Ordering keys follow `finished_at` instead of `state` (the rule of 0008 is unchanged: a job
-- holds its key from its enqueue until it finishes, and the key's earliest unfinished job is the
-- next to run). Every statement that finishes a job sets `finished_at`, and every statement that
-- sends a finished job back to pending clears it, so "unfinished" is `finished_at IS NULL`.
--
-- Why: a claim (pending -> running) writes `state` but not `finished_at`. With the index and the
-- triggers on `state`, each keyed job a claim took had its `jobs_ordering` entry rewritten and
-- ran two trigger programs that did nothing; now a claim touches neither, and a keyed job costs
-- a claim what an unkeyed one does. SQL typed by hand must keep the same contract: set
-- `finished_at` when it ends a job, clear it when it revives one.
DROP INDEX jobs_ordering;

-- A key's unfinished jobs in id order: the first is the one that may run (JobSQL.holdsOrderingKey).
CREATE INDEX jobs_ordering ON jobs (queue, ordering_key, id)
WHERE ordering_key IS NOT NULL AND finished_at IS NULL;

DROP TRIGGER jobs_ordering_insert;

-- A new job waits behind any unfinished job of its key (all of them are earlier).
CREATE TRIGGER jobs_ordering_insert AFTER INSERT ON jobs
WHEN NEW.ordering_key IS NOT NULL
BEGIN
    UPDATE jobs SET blocked = TRUE
    WHERE id = NEW.id AND EXISTS (
        SELECT 1 FROM jobs AS earlier
        WHERE earlier.queue = NEW.queue AND earlier.ordering_key = NEW.ordering_key
          AND earlier.finished_at IS NULL AND earlier.id < NEW.id);
END;

DROP TRIGGER jobs_ordering_next;

-- The job that held its key finished (succeeded, failed for good, cancelled): the earliest
-- unfinished job of the key may run next.
CREATE TRIGGER jobs_ordering_next AFTER UPDATE OF finished_at ON jobs
WHEN OLD.ordering_key IS NOT NULL AND OLD.blocked = 0 AND OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL
BEGIN
    UPDATE jobs SET blocked = FALSE
    WHERE blocked = TRUE AND id = (
        SELECT id FROM jobs
        WHERE queue = NEW.queue AND ordering_key = NEW.ordering_key AND finished_at IS NULL
        ORDER BY id LIMIT 1);
END;

DROP TRIGGER jobs_ordering_again;

-- A finished job sent back to pending (`dispatcher retry`, the dashboard) waits while any other
-- job of its key is unfinished, and is the next to run once that one finishes (the earliest id).
CREATE TRIGGER jobs_ordering_again AFTER UPDATE OF finished_at ON jobs
WHEN NEW.ordering_key IS NOT NULL AND OLD.finished_at IS NOT NULL AND NEW.finished_at IS NULL
BEGIN
    UPDATE jobs SET blocked = EXISTS (
        SELECT 1 FROM jobs AS other
        WHERE other.queue = NEW.queue AND other.ordering_key = NEW.ordering_key
          AND other.finished_at IS NULL AND other.id <> NEW.id)
    WHERE id = NEW.id;
END;
