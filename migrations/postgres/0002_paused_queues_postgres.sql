-- Queues an operator paused (`dispatcher pause QUEUE`, or the dashboard): no daemon claims their
-- jobs until they are resumed. A row per paused queue; the claim query checks it by primary key.
CREATE TABLE paused_queues (
    queue     TEXT   PRIMARY KEY,
    paused_at BIGINT NOT NULL
);
