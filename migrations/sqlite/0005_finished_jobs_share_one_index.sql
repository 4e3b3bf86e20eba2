-- Finished jobs are found through one index, jobs_retention (queue, state, finished_at), instead of two.
--
-- jobs_finished (finished_at) served the last minute's activity (stats, top, the dashboard) and
-- purge; jobs_retention (0003) serves the pruner. Every completion wrote an entry into both, and
-- the completion is the hot path: without jobs_finished a drain's SQLite work per job falls by
-- some 3,000 instructions (scripts/bench-instructions.py) and each completion commit writes fewer
-- pages. The readers now walk jobs_retention once per queue and finished state, taking the
-- queues from job_counts (a handful of rows), which reads the same index ranges as before.
DROP INDEX jobs_finished;
