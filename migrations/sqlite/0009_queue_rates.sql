-- Fleet-wide rate limits: a queue whose `rate` is shared by every daemon on the database (the
-- default scope) keeps the limit's state here, one row per queue: the theoretical arrival time,
-- in microseconds since the Unix epoch, of the next call at the steady rate (see SharedRate).
-- Each claim of such a queue reads it and moves it on by the jobs it took, in the claim's write
-- transaction, so no two daemons spend the same token.
CREATE TABLE queue_rates (
    queue               TEXT    PRIMARY KEY,
    theoretical_arrival INTEGER NOT NULL
);
