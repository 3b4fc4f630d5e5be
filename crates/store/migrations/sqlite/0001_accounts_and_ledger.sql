-- Accounts, sessions, API keys, the credit ledger and vouchers (SQLite).
-- Times are milliseconds since the Unix epoch; credits are whole numbers.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('customer', 'admin')),
    -- Cached from the ledger, updated in the same transaction as every row.
    balance        BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    held           BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    webhook_secret TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    disabled_at    BIGINT
);

CREATE TABLE ledger_entries (
    -- A rowid alias: increases with every insert, and rows are never deleted.
    id            INTEGER PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    kind          TEXT NOT NULL
                  CHECK (kind IN ('grant', 'voucher', 'hold', 'charge', 'refund', 'adjustment')),
    amount        BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    generation_id TEXT,
    created_at    BIGINT NOT NULL,
    CHECK ((kind IN ('hold', 'charge', 'refund')) = (generation_id IS NOT NULL)),
    CHECK (kind <> 'hold' OR amount <= 0),
    CHECK (kind <> 'charge' OR amount = 0),
    CHECK (kind <> 'refund' OR amount >= 0)
);

-- At most one hold per generation, and at most one settlement (charge or refund) of it,
-- whatever retries or races happen.
CREATE UNIQUE INDEX ledger_one_hold_per_generation
    ON ledger_entries (generation_id) WHERE kind = 'hold';
CREATE UNIQUE INDEX ledger_one_settlement_per_generation
    ON ledger_entries (generation_id) WHERE kind IN ('charge', 'refund');
CREATE INDEX ledger_entries_by_user ON ledger_entries (user_id, id);

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only');
END;

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_by_user ON api_keys (user_id, id);

CREATE TABLE vouchers (
    code            TEXT PRIMARY KEY,
    credits         BIGINT NOT NULL CHECK (credits > 0),
    max_redemptions BIGINT NOT NULL CHECK (max_redemptions > 0),
    redemptions     BIGINT NOT NULL DEFAULT 0,
    expires_at      BIGINT,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    CHECK (redemptions >= 0 AND redemptions <= max_redemptions)
);

CREATE TABLE voucher_redemptions (
    code            TEXT NOT NULL REFERENCES vouchers (code),
    user_id         TEXT NOT NULL REFERENCES users (id),
    ledger_entry_id BIGINT NOT NULL REFERENCES ledger_entries (id),
    redeemed_at     BIGINT NOT NULL,
    PRIMARY KEY (code, user_id)
);
