-- Attempts a throttle counts (sign-in guesses; later password resets and verifications), one
-- row per attempt, taken *before* the attempt is made so that concurrent requests cannot all
-- pass one check. The same table as on PostgreSQL, where every instance shares it.

CREATE TABLE throttle_attempts (
    id           INTEGER PRIMARY KEY,
    throttle     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    taken_at     INTEGER NOT NULL,
    counts_until INTEGER NOT NULL
);
CREATE INDEX throttle_attempts_by_subject ON throttle_attempts (throttle, subject, counts_until);
