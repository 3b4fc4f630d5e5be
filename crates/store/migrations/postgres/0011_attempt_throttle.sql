-- Attempts a throttle counts (sign-in guesses; later password resets and verifications), one
-- row per attempt, taken *before* the attempt is made so that concurrent requests — on this
-- instance or any other on the same database — cannot all pass one check.

CREATE TABLE throttle_attempts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    throttle     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    taken_at     BIGINT NOT NULL,
    counts_until BIGINT NOT NULL
);
CREATE INDEX throttle_attempts_by_subject ON throttle_attempts (throttle, subject, counts_until);
