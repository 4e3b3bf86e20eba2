-- Every dispatcher object lives in a schema of its own (`dispatcher`, or the URL's ?schema=), so
-- none shares a name with an application's tables: the migrator creates the schema, moves an
-- install made before this migration out of `public` (tables with their indexes, triggers and
-- sequences, and the functions), and runs each migration with the schema alone on search_path.
--
-- A function resolves the table names in its body through search_path when it runs, and that
-- is the caller's: an application inserting into dispatcher.jobs, or calling
-- dispatcher.enqueue(), from a session whose search_path is `public` would otherwise have the
-- triggers count into, and enqueue() insert into, whatever `job_counts` and `jobs` it finds
-- there, perhaps its own. Each function that names a table keeps this migration's path instead.
ALTER FUNCTION dispatcher.dispatcher_count_inserted() SET search_path FROM CURRENT;

ALTER FUNCTION dispatcher.dispatcher_count_deleted() SET search_path FROM CURRENT;

ALTER FUNCTION dispatcher.dispatcher_count_updated() SET search_path FROM CURRENT;

ALTER FUNCTION dispatcher.enqueue(text, jsonb, text, text, integer, timestamptz, integer, interval)
    SET search_path FROM CURRENT;
