-- The operator's business: Kie balance samples (the balance guard's record, for
-- reconciliation) and reelgate's own copies of the videos (Kie deletes its files after 14
-- days). Times are milliseconds since the Unix epoch.

CREATE TABLE upstream_balance_samples (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    taken_at BIGINT NOT NULL,
    -- Kie credits, exact decimal text.
    credits  TEXT NOT NULL
);
CREATE INDEX upstream_balance_samples_at ON upstream_balance_samples (taken_at);

-- One row per video of a succeeded generation, from the moment it succeeded (or its 1080p
-- video arrived), in the same transaction: no video is ever left without its copy job.
CREATE TABLE media_copies (
    -- generation id, ':', index in the generation's videos.
    id              TEXT PRIMARY KEY,
    generation_id   TEXT NOT NULL REFERENCES generations (id),
    idx             INTEGER NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id),
    source_url      TEXT NOT NULL,
    resolution      TEXT,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'copied', 'failed', 'deleted')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- While pending: when the copier tries next (a claim pushes it forward by a lease).
    next_attempt_at BIGINT,
    last_error      TEXT,
    object_key      TEXT,
    content_type    TEXT,
    size_bytes      BIGINT,
    thumbnail_key   TEXT,
    -- 'customer' or 'retention'.
    deleted_reason  TEXT,
    created_at      BIGINT NOT NULL,
    copied_at       BIGINT,
    deleted_at      BIGINT,
    -- When the stored objects of a deleted copy were removed.
    purged_at       BIGINT
);
CREATE UNIQUE INDEX media_copies_by_generation ON media_copies (generation_id, idx);
CREATE INDEX media_copies_due ON media_copies (state, next_attempt_at);
CREATE INDEX media_copies_copied ON media_copies (state, copied_at);

-- Reports read settled generations by the day they finished, reconciliation by when Kie
-- accepted them.
CREATE INDEX generations_finished ON generations (finished_at);
CREATE INDEX generations_dispatched ON generations (dispatched_at);

-- Videos of generations that succeeded before this version get their copy jobs too.
INSERT INTO media_copies (id, generation_id, idx, user_id, source_url, resolution,
                          next_attempt_at, created_at)
SELECT g.id || ':' || (v.n - 1), g.id, v.n - 1, g.user_id, v.value ->> 'url',
       v.value ->> 'resolution', g.updated_at, g.updated_at
FROM generations g, jsonb_array_elements(g.videos::jsonb) WITH ORDINALITY AS v (value, n)
WHERE g.status = 'succeeded' AND v.value ->> 'url' IS NOT NULL;
