-- Periodic jobs (the config file's `schedules`): a row per schedule any daemon ever served. A
-- slot becomes a job with the key `schedule:NAME:<slot>`; this row records how far the slots
-- were handled, so a daemon evaluates only the slots after `covered_until`, and the daemons
-- evaluating one schedule at once take turns on it (SQLite: the write lock).
-- Rows stay when a schedule leaves the config: its history is still shown.
CREATE TABLE schedules (
    name          TEXT    PRIMARY KEY,
    cron          TEXT    NOT NULL,
    timezone      TEXT    NOT NULL,
    queue         TEXT    NOT NULL,
    method        TEXT    NOT NULL,
    -- Every slot at or before this instant (ms since the epoch) is handled.
    covered_until INTEGER NOT NULL,
    -- The newest slot that became a job, and that job (it may be pruned since).
    last_slot     INTEGER,
    last_job_id   INTEGER,
    -- When a daemon last registered or evaluated the schedule.
    updated_at    INTEGER NOT NULL
) WITHOUT ROWID;
