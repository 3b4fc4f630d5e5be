-- Selling credits: packages, payments, the providers' events, and the ledger rows that follow
-- a payment's money (PostgreSQL). Amounts of money are exact decimal strings.

ALTER TABLE users ADD COLUMN debt BIGINT NOT NULL DEFAULT 0 CHECK (debt >= 0);

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries
    ADD COLUMN payment_id TEXT,
    -- The change to users.debt; only debt and repayment rows have one.
    ADD COLUMN debt BIGINT NOT NULL DEFAULT 0,
    ADD CONSTRAINT ledger_entries_kind_check
        CHECK (kind IN ('grant', 'voucher', 'hold', 'charge', 'refund', 'adjustment',
                        'purchase', 'reversal', 'debt', 'debt_repayment', 'reinstatement')),
    ADD CHECK ((kind IN ('purchase', 'reversal', 'debt', 'debt_repayment', 'reinstatement'))
               = (payment_id IS NOT NULL)),
    ADD CHECK (kind NOT IN ('purchase', 'reinstatement') OR amount > 0),
    ADD CHECK (kind <> 'reversal' OR amount < 0),
    ADD CHECK (kind <> 'debt' OR (amount = 0 AND debt > 0)),
    ADD CHECK (kind <> 'debt_repayment' OR (amount < 0 AND debt = amount)),
    ADD CHECK (kind IN ('debt', 'debt_repayment') OR debt = 0);

-- A payment is credited once, whatever events repeat or race.
CREATE UNIQUE INDEX ledger_one_purchase_per_payment
    ON ledger_entries (payment_id) WHERE kind = 'purchase';
CREATE INDEX ledger_entries_by_payment ON ledger_entries (payment_id) WHERE payment_id IS NOT NULL;

CREATE TABLE credit_packages (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    credits        BIGINT NOT NULL CHECK (credits > 0),
    bonus_credits  BIGINT NOT NULL CHECK (bonus_credits >= 0),
    price_amount   TEXT NOT NULL,
    price_currency TEXT NOT NULL,
    active         BIGINT NOT NULL CHECK (active IN (0, 1)),
    position       BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE payments (
    id                  TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users (id),
    package_id          TEXT NOT NULL REFERENCES credit_packages (id),
    -- The package as it was at checkout.
    package_name        TEXT NOT NULL,
    credits             BIGINT NOT NULL CHECK (credits > 0),
    bonus_credits       BIGINT NOT NULL CHECK (bonus_credits >= 0),
    amount              TEXT NOT NULL,
    currency            TEXT NOT NULL,
    provider            TEXT NOT NULL CHECK (provider IN ('demo', 'stripe', 'iyzico')),
    -- Derived from the facts below, kept for lists and filters.
    status              TEXT NOT NULL
                        CHECK (status IN ('pending', 'paid', 'failed', 'expired', 'refunded',
                                          'partially_refunded', 'disputed')),
    provider_ref        TEXT,
    provider_payment_id TEXT,
    paid_at             BIGINT,
    -- 'open', 'failed' or 'expired' while unpaid.
    unpaid              TEXT NOT NULL CHECK (unpaid IN ('open', 'failed', 'expired')),
    failure             TEXT,
    refunded            TEXT NOT NULL DEFAULT '0',
    dispute             TEXT NOT NULL DEFAULT 'none'
                        CHECK (dispute IN ('none', 'open', 'won', 'lost')),
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX payments_by_user ON payments (user_id, id);
CREATE INDEX payments_by_status ON payments (status, created_at);
CREATE UNIQUE INDEX payments_by_provider_ref ON payments (provider, provider_ref)
    WHERE provider_ref IS NOT NULL;

-- Every notification and callback a provider sent, verified or not, and what it changed.
CREATE TABLE payment_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider     TEXT NOT NULL,
    -- The provider's own id of the event (Stripe `evt_…`); callbacks without one have NULL.
    event_id     TEXT,
    event_type   TEXT NOT NULL,
    payment_id   TEXT,
    -- 'verified', 'duplicate', or why it was refused.
    verification TEXT NOT NULL,
    effect       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    received_at  BIGINT NOT NULL
);
-- A verified event is acted on once; forged copies cannot claim a real event's id first.
CREATE UNIQUE INDEX payment_events_once ON payment_events (provider, event_id)
    WHERE verification = 'verified' AND event_id IS NOT NULL;
CREATE INDEX payment_events_by_payment ON payment_events (payment_id, id);
