-- Fleet-wide in-flight limits and the fleet's concurrency, one row per daemon and queue: each
-- running daemon leases `slots` of a queue's `max_in_flight` (its workers call only while they
-- hold one of them), says how many calls it could run now (`demand`: in flight plus waiting for
-- a slot) and how many its workers may run (`concurrency_limit`: the adaptive limit or the
-- worker count, cut to its slots), until `expires_at` (ms since the Unix epoch). A daemon
-- renews its row while it runs and deletes it when it stops; a killed daemon's row runs out and
-- its slots go to the others. `dispatcher top` reads the live rows.
CREATE TABLE queue_slots (
    queue             TEXT    NOT NULL,
    owner             TEXT    NOT NULL,
    slots             INTEGER NOT NULL,
    demand            INTEGER NOT NULL,
    concurrency_limit INTEGER NOT NULL,
    max_in_flight     INTEGER,
    expires_at        INTEGER NOT NULL,
    PRIMARY KEY (queue, owner)
) WITHOUT ROWID;
