-- Enqueue from the application's own transaction, in any language:
--   SELECT dispatcher.enqueue('report.run', '{"full": true}');
-- The job exists if and only if the transaction commits (the transactional outbox), and idle
-- daemons hear of it at that commit (the trigger below), not at their next safety poll.
-- The same rules as `dispatcher enqueue`: a known key in the queue returns the existing job's id
-- and creates nothing; a bad argument raises invalid_parameter_value (22023) naming it.
CREATE FUNCTION dispatcher.enqueue(
    method text, params jsonb DEFAULT NULL, queue text DEFAULT 'default', key text DEFAULT NULL,
    priority int DEFAULT 0, run_at timestamptz DEFAULT now(), max_attempts int DEFAULT NULL,
    timeout interval DEFAULT NULL
) RETURNS bigint LANGUAGE plpgsql AS $$
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
    INSERT INTO jobs AS j (queue, method, params, idempotency_key, priority, max_attempts, run_at, timeout_ms,
        created_at)
    VALUES (enqueue.queue, enqueue.method, enqueue.params::text, enqueue.key, enqueue.priority, enqueue.max_attempts,
        (extract(epoch FROM enqueue.run_at) * 1000)::bigint,
        (extract(epoch FROM enqueue.timeout) * 1000)::bigint, dispatcher_now_ms())
    ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING j.id INTO new_id;
    IF new_id IS NULL THEN
        SELECT j.id INTO new_id FROM jobs j WHERE j.queue = enqueue.queue AND j.idempotency_key = enqueue.key;
    END IF;
    RETURN new_id;
END
$$;

-- Every insert into jobs, by anyone (this function, a plain INSERT, the dispatcher's own
-- enqueue), wakes the listening daemons when its transaction commits; a rolled-back one wakes
-- nobody. Once per statement, whatever its row count.
CREATE FUNCTION dispatcher_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dispatcher_jobs', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
FOR EACH STATEMENT EXECUTE FUNCTION dispatcher_notify_inserted();
