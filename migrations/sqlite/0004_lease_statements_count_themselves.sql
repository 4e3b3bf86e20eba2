-- The daemon's lease statements count their own moves in job_counts.
--
-- A claim moves every job it takes from pending (or retrying) to running, and a completion moves
-- it on to succeeded, failed or back to pending. Counted by the row trigger, each of those moves
-- was an upsert of two job_counts rows per job: with it gone, a drain's SQLite instructions per
-- job fell by a fifth (76,500 to 61,800, scripts/bench-instructions.py). The daemon's claim and
-- completion statements now add up their own moves and write them with one upsert per queue and
-- bucket per transaction (JobCountMoves.swift).
--
-- While those statements run, the daemon sets its connection's last_insert_rowid() to
-- -1152921504606846976 (-2^60), a value no insert into jobs produces, and the trigger below steps
-- aside for exactly that value. Every other writer is counted by the trigger as before: the
-- commands, the dashboard, an older dispatcher still running against this file, and any SQL typed
-- into the sqlite3 shell.
DROP TRIGGER jobs_count_update;

CREATE TRIGGER jobs_count_update AFTER UPDATE OF queue, state, attempts ON jobs
WHEN last_insert_rowid() IS NOT -1152921504606846976
  AND (old.queue IS NOT new.queue
    OR (CASE WHEN old.state = 'pending' AND old.attempts > 0 THEN 'retrying' ELSE old.state END)
       IS NOT (CASE WHEN new.state = 'pending' AND new.attempts > 0 THEN 'retrying' ELSE new.state END))
BEGIN
    -- One statement for both rows: each statement a trigger runs costs more than its row.
    INSERT INTO job_counts (queue, bucket, count)
    VALUES (old.queue, CASE WHEN old.state = 'pending' AND old.attempts > 0 THEN 'retrying' ELSE old.state END, -1),
           (new.queue, CASE WHEN new.state = 'pending' AND new.attempts > 0 THEN 'retrying' ELSE new.state END, 1)
    ON CONFLICT (queue, bucket) DO UPDATE SET count = count + excluded.count;
END;
