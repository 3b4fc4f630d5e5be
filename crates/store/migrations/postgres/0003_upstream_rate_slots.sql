-- The upstream's rate limit is one limit for every instance on this database: each create
-- request sent upstream takes a row here first, and counts against the limit until
-- `counts_until` (its answer plus one window; while unanswered, the longest it could take).

CREATE TABLE upstream_rate_slots (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    limiter      TEXT NOT NULL,
    taken_at     BIGINT NOT NULL,
    answered_at  BIGINT,
    counts_until BIGINT NOT NULL
);
CREATE INDEX upstream_rate_slots_by_end ON upstream_rate_slots (limiter, counts_until);
