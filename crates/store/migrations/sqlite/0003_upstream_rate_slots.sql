-- The upstream's rate limit as rows, the same table as on PostgreSQL (where several instances
-- share it): each create takes a row, which counts against the limit until `counts_until`.

CREATE TABLE upstream_rate_slots (
    id           INTEGER PRIMARY KEY,
    limiter      TEXT NOT NULL,
    taken_at     INTEGER NOT NULL,
    answered_at  INTEGER,
    counts_until INTEGER NOT NULL
);
CREATE INDEX upstream_rate_slots_by_end ON upstream_rate_slots (limiter, counts_until);
