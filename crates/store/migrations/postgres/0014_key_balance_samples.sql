-- Several Kie keys: the balance guard records each key's balance too, so that the
-- reconciliation compares each Kie account with the generations sent with its key. NULL is
-- the total of every key (or the one key), as before.
ALTER TABLE upstream_balance_samples ADD COLUMN upstream_key TEXT;
CREATE INDEX upstream_balance_samples_key_at ON upstream_balance_samples (upstream_key, taken_at);
