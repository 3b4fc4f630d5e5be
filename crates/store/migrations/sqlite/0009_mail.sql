-- Mail (same SQL on both backends): the outbox, written in the transaction of the event that
-- causes a mail; the single-use tokens of the links mails carry; and what each customer wants
-- mailed. Times are milliseconds since the Unix epoch.

CREATE TABLE mail_outbox (
    -- `mail_` and a ULID; also the Message-ID's local part, so receivers can tell a resend.
    id              TEXT PRIMARY KEY,
    -- The account it is about, if any (operator alerts go to addresses, not accounts).
    user_id         TEXT REFERENCES users (id),
    to_address      TEXT NOT NULL,
    locale          TEXT NOT NULL,
    template        TEXT NOT NULL,
    -- The template's values, JSON. Erased once sent when they carry a secret link.
    vars            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- While unsent: when the deliverer tries next (a claim pushes it forward by a lease).
    next_attempt_at BIGINT,
    last_error      TEXT,
    sent_at         BIGINT,
    gave_up_at      BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX mail_outbox_by_user ON mail_outbox (user_id);
CREATE INDEX mail_outbox_created ON mail_outbox (created_at);

CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    purpose    TEXT NOT NULL CHECK (purpose IN ('password_reset', 'verify_email', 'change_email')),
    -- For `change_email`: the address the link confirms.
    new_email  TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX account_tokens_by_user ON account_tokens (user_id, purpose);

-- The language mail is written in (the web app's, when the customer last chose one).
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT 'en';
-- Since when the address waits to be confirmed; NULL: confirmed (or made by the operator,
-- who vouches for it, as every account from before this version was).
ALTER TABLE users ADD COLUMN email_unverified_since BIGINT;
-- "Your video is ready" / "could not be generated" mails; on unless switched off.
ALTER TABLE users ADD COLUMN notify_generations INTEGER NOT NULL DEFAULT 1;
-- Opt-in: mail once when the balance falls below this, again only after it rose above it.
ALTER TABLE users ADD COLUMN low_balance_below BIGINT;
ALTER TABLE users ADD COLUMN low_balance_mailed_at BIGINT;
-- Closed by its owner: personal data erased, sign-in and keys refused for good.
ALTER TABLE users ADD COLUMN closed_at BIGINT;

ALTER TABLE sessions ADD COLUMN last_used_at BIGINT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
