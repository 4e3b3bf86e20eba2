-- Fleet-wide in-flight limits and the fleet's concurrency (see the SQLite migration 0010): one
-- row per daemon and queue with the slots it leases of the queue's max_in_flight, its demand and
-- its concurrency limit, until expires_at (ms of the database's clock). Rows of a limited queue
-- are written holding the queue's advisory lock.
CREATE TABLE queue_slots (
    queue             text    NOT NULL,
    owner             text    NOT NULL,
    slots             integer NOT NULL,
    demand            integer NOT NULL,
    concurrency_limit integer NOT NULL,
    max_in_flight     integer,
    expires_at        bigint  NOT NULL,
    PRIMARY KEY (queue, owner)
);
