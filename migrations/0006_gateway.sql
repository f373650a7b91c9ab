-- Who sent a job through the OpenAI- or Ollama-compatible API (JSON), if anyone.
ALTER TABLE jobs ADD COLUMN client TEXT;

-- A client that repeats a request with the same Idempotency-Key gets the
-- job the first one made. Keys belong to the token that used them and are
-- forgotten after a day.
CREATE TABLE idempotency_keys (
    token_id       TEXT NOT NULL,
    key            TEXT NOT NULL,
    -- SHA-256 of the request body: the same key with another body is refused.
    request_sha256 TEXT NOT NULL,
    job_id         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (token_id, key)
) STRICT;

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
