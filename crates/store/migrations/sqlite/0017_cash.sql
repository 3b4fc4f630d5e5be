-- The cash report: every movement of money, by day; and when a pending payment is next
-- checked with its provider, to be credited or expired (SQLite).
--
-- Every movement of money a provider confirmed: the price received when a payment is paid,
-- each increase of what was refunded, and a chargeback (negative when a won dispute gave the
-- money back). Amounts are exact decimal strings in the payment's currency; a payment's own
-- columns only keep the cumulative state, which cannot say on which day a refund happened.
CREATE TABLE cash_movements (
    id         INTEGER PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    kind       TEXT NOT NULL CHECK (kind IN ('received', 'refunded', 'charged_back')),
    amount     TEXT NOT NULL,
    currency   TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX cash_movements_by_time ON cash_movements (at);
CREATE INDEX cash_movements_by_payment ON cash_movements (payment_id);

-- What payments made before this version did, as well as their rows can tell: the price on
-- the day it was paid, and what was refunded or disputed on the day the payment last changed.
INSERT INTO cash_movements (payment_id, kind, amount, currency, at)
    SELECT id, 'received', amount, currency, paid_at FROM payments WHERE paid_at IS NOT NULL;
INSERT INTO cash_movements (payment_id, kind, amount, currency, at)
    SELECT id, 'refunded', refunded, currency, updated_at FROM payments
    WHERE paid_at IS NOT NULL AND refunded NOT IN ('0', '0.00');
INSERT INTO cash_movements (payment_id, kind, amount, currency, at)
    SELECT id, 'charged_back', amount, currency, updated_at FROM payments
    WHERE paid_at IS NOT NULL AND dispute IN ('open', 'lost') AND refunded IN ('0', '0.00');

-- When the expiry worker next asks the provider about a pending payment (milliseconds since
-- the epoch). 0, the default, is due at once: the worker then schedules the first real check.
ALTER TABLE payments ADD COLUMN check_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX payments_to_check ON payments (check_at) WHERE status = 'pending';
