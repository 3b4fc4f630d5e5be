-- Generations and the webhook deliveries they owe. Same SQL on both backends.
-- Times are milliseconds since the Unix epoch.

CREATE TABLE generations (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users (id),
    model             TEXT NOT NULL,
    params            TEXT NOT NULL,
    upstream_request  TEXT NOT NULL,
    credits           BIGINT NOT NULL CHECK (credits >= 0),
    upstream_cost_usd TEXT NOT NULL,
    status            TEXT NOT NULL
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
    -- Where the create request stands; written before it is sent (see Dispatch).
    dispatch          TEXT NOT NULL DEFAULT 'waiting'
                      CHECK (dispatch IN ('waiting', 'sending', 'unknown', 'accepted')),
    dispatch_attempts INTEGER NOT NULL DEFAULT 0,
    upstream_task_id  TEXT,
    -- When the worker in charge of the current state looks next. Claiming a row pushes it
    -- forward by a lease, so a second worker (or instance) does not take it meanwhile.
    next_check_at     BIGINT NOT NULL,
    status_checks     INTEGER NOT NULL DEFAULT 0,
    not_found_checks  INTEGER NOT NULL DEFAULT 0,
    blocked_since     BIGINT,
    blocked_reason    TEXT,
    videos            TEXT NOT NULL DEFAULT '[]',
    hd                TEXT NOT NULL DEFAULT 'none' CHECK (hd IN ('none', 'pending', 'done', 'gave_up')),
    hd_next_at        BIGINT,
    error_code        TEXT,
    error_message     TEXT,
    upstream_error    TEXT,
    webhook_url       TEXT,
    idempotency_key   TEXT,
    request_hash      TEXT,
    first_response    TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    dispatched_at     BIGINT,
    finished_at       BIGINT
);
CREATE INDEX generations_by_user ON generations (user_id, id);
CREATE INDEX generations_due ON generations (status, next_check_at);
CREATE INDEX generations_hd_due ON generations (hd, hd_next_at);
CREATE UNIQUE INDEX generations_idempotency
    ON generations (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX generations_upstream_task
    ON generations (upstream_task_id) WHERE upstream_task_id IS NOT NULL;

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    generation_id   TEXT NOT NULL REFERENCES generations (id),
    user_id         TEXT NOT NULL REFERENCES users (id),
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    delivered_at    BIGINT,
    gave_up_at      BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
