-- Many customers sharing one upstream: per-customer limits and tiers, the fair order of
-- dispatch, and which Kie key each task was created with.

-- The operator's limits: scope 'default' holds the defaults, a user id that customer's
-- overrides. A NULL column is "not set here" (inherit the default; no limit by default).
CREATE TABLE customer_limits (
    scope                  TEXT PRIMARY KEY,
    max_active             BIGINT CHECK (max_active > 0),
    submissions_per_minute BIGINT CHECK (submissions_per_minute > 0),
    daily_credits          BIGINT CHECK (daily_credits > 0),
    weight                 BIGINT CHECK (weight BETWEEN 1 AND 100),
    updated_at             BIGINT NOT NULL
);

-- Fair dispatch (start-time fair queuing): each queued generation gets a place in one order,
-- its customer's previous place (or the place being served now, if later) plus a stride that
-- is shorter for heavier tiers. The claim takes the lowest places first: customers with work
-- queued come round in turn, and within one customer, in arrival order.
ALTER TABLE users ADD COLUMN fair_last BIGINT NOT NULL DEFAULT 0;
ALTER TABLE generations ADD COLUMN fair_key BIGINT NOT NULL DEFAULT 0;
-- The claim reads waiting rows in this order; the place being served now is its first row.
CREATE INDEX generations_fair_order ON generations (status, dispatch, fair_key);
-- With nothing waiting, the place being served is the last one handed out.
CREATE INDEX generations_fair_key ON generations (fair_key);

-- Per-customer limits count a customer's recent submissions and those still active.
CREATE INDEX generations_by_user_created ON generations (user_id, created_at);
CREATE INDEX generations_by_user_status ON generations (user_id, status);

-- Which of several Kie keys created the task (its fingerprint, never the key): status reads
-- and 1080p requests must use the same one. NULL: the only key.
ALTER TABLE generations ADD COLUMN upstream_key TEXT;

-- The measured run time of each model over the last day feeds the queue's estimates.
CREATE INDEX generations_model_finished ON generations (model, finished_at);
