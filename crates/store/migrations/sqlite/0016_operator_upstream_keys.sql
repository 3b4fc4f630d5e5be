-- Kie keys the operator entered on the operator pages or through the admin API (keys from
-- configuration are not stored). `sealed` is the key encrypted with an AEAD keyed from the
-- instance secret (never the key in the clear); `fingerprint` names the key everywhere else
-- (its rate window, the generations sent with it). Times are milliseconds since the epoch.
CREATE TABLE upstream_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    sealed      TEXT NOT NULL,
    enabled     BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL
);
