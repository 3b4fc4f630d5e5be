-- Models the upstream has withdrawn or disabled: reelgate stops sending them until a probe
-- gets through or the operator resumes them. One row per paused model, shared by every
-- instance on PostgreSQL. Times are milliseconds since the epoch.
CREATE TABLE model_pauses (
    model            TEXT PRIMARY KEY,
    reason           TEXT NOT NULL,
    paused_since     INTEGER NOT NULL,
    probe_at         INTEGER NOT NULL,
    strikes          INTEGER NOT NULL,
    probe_generation TEXT,
    probe_taken_at   INTEGER
);
