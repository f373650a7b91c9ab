-- Chat sessions and their messages, API tokens and browser login sessions,
-- and an index that keeps the Prometheus aggregates off the job texts.
--
-- Times here are RFC 3339 UTC with exactly nine fractional digits, so that
-- string order is time order ("...:00.000000000Z" < "...:00.500000000Z").

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    -- Empty until set, or derived from the first user message.
    title      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    -- Last activity: creation or the newest message.
    updated_at TEXT NOT NULL
) STRICT;

-- list_sessions: most recent activity first.
CREATE INDEX sessions_by_updated ON sessions (updated_at, id);

CREATE TABLE messages (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    content    TEXT NOT NULL,
    -- The job that produced (or was asked) this message, if any.
    job_id     TEXT,
    created_at TEXT NOT NULL
) STRICT;

-- session_messages (oldest first, ties in insertion order via the rowid),
-- the message count, and the cascade from sessions.
CREATE INDEX messages_by_session ON messages (session_id, created_at);

-- A job records one message per role, however often its worker finishes it.
CREATE UNIQUE INDEX messages_by_job ON messages (job_id, role) WHERE job_id IS NOT NULL;

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    -- SHA-256 of the secret, lowercase hex. The secret itself is never stored.
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;

-- revoke_token by name.
CREATE INDEX tokens_by_name ON tokens (name);

CREATE TABLE web_sessions (
    -- SHA-256 of the cookie secret, lowercase hex.
    hash       TEXT PRIMARY KEY,
    token_id   TEXT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

-- The cascade from tokens, and logging out a revoked token's browsers.
CREATE INDEX web_sessions_by_token ON web_sessions (token_id);
-- Purging expired sessions.
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);

-- Store::metrics is scraped every few seconds: a covering index lets it
-- read these few numbers without walking each job's prompt and output.
CREATE INDEX jobs_metrics ON jobs (state, prompt_tokens, completion_tokens, duration_ms, ttft_ms);
