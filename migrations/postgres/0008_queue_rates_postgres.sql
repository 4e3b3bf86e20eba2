-- Fleet-wide rate limits (see the SQLite migration 0009): one row per queue with the theoretical
-- arrival time, in microseconds of the database's clock, of the next call at the steady rate.
-- Claims of a limited queue read and write it holding the queue's advisory lock.
CREATE TABLE queue_rates (
    queue               text   PRIMARY KEY,
    theoretical_arrival bigint NOT NULL
);
