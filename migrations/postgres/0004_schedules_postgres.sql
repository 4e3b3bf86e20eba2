-- Periodic jobs (the config file's `schedules`): a row per schedule any daemon ever served. A
-- slot becomes a job with the key `schedule:NAME:<slot>`; this row records how far the slots
-- were handled, so a daemon evaluates only the slots after `covered_until`, and the daemons
-- evaluating one schedule at once take turns on its row lock (FOR UPDATE SKIP LOCKED: a daemon
-- that finds the row locked leaves the slot to the holder).
-- Rows stay when a schedule leaves the config: its history is still shown.
CREATE TABLE schedules (
    name          TEXT   PRIMARY KEY,
    cron          TEXT   NOT NULL,
    timezone      TEXT   NOT NULL,
    queue         TEXT   NOT NULL,
    method        TEXT   NOT NULL,
    -- Every slot at or before this instant (ms since the epoch, the server's clock) is handled.
    covered_until BIGINT NOT NULL,
    -- The newest slot that became a job, and that job (it may be pruned since).
    last_slot     BIGINT,
    last_job_id   BIGINT,
    -- When a daemon last registered or evaluated the schedule.
    updated_at    BIGINT NOT NULL
);
