-- The PostgreSQL backend: the queue with leases, the event logs and the
-- records, in one database shared by every `ctl serve` and `ctl worker`.
--
-- Record times are RFC 3339 UTC text with nine fractional digits, as in the
-- SQLite store, so both backends sort and compare them the same way; the
-- queue's own clock (leases, heartbeats) is the database's `now()`.

-- Workers that joined the queue, with the lease they keep alive.
CREATE TABLE ctl_workers (
    id         TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);

-- Every job, whatever its state; the job itself as the job file's JSON.
CREATE TABLE ctl_queue (
    id               TEXT PRIMARY KEY,
    -- queued | active | completed | failed
    state            TEXT NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    job              JSONB NOT NULL,
    queued_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The current claim: a fresh id per claim fences every later write.
    lease            TEXT,
    worker           TEXT,
    lease_expires    TIMESTAMPTZ,
    cancel_requested BOOLEAN NOT NULL DEFAULT false,
    -- Bumped each time the job changes state (for followers).
    finished_at      TIMESTAMPTZ
);

-- Claims: priority, then age (ids are time-ordered), among waiting jobs.
CREATE INDEX ctl_queue_claim ON ctl_queue (priority DESC, id) WHERE state = 'queued';
-- Requeueing expired leases.
CREATE INDEX ctl_queue_leases ON ctl_queue (lease_expires) WHERE state = 'active';
CREATE INDEX ctl_queue_by_state ON ctl_queue (state, id);

-- Event logs: a batch of consecutive events of one job per row (tokens
-- arrive a few hundred a second; a row each would be wasteful). `lines` is
-- NDJSON, one event per line, seqs first_seq..=last_seq without gaps.
CREATE TABLE ctl_events (
    job_id    TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq  BIGINT NOT NULL,
    lines     TEXT NOT NULL,
    written   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, first_seq)
);

-- Finished jobs, as the SQLite store's `jobs`.
CREATE TABLE ctl_jobs (
    id                TEXT PRIMARY KEY,
    seq               BIGSERIAL UNIQUE,
    state             TEXT NOT NULL,
    model             TEXT NOT NULL,
    priority          INTEGER NOT NULL DEFAULT 0,
    prompt            TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    attempts          INTEGER NOT NULL,
    max_attempts      INTEGER NOT NULL,
    worker            TEXT,
    output            TEXT NOT NULL,
    error             TEXT,
    prompt_tokens     BIGINT,
    completion_tokens BIGINT,
    ttft_ms           DOUBLE PRECISION,
    tokens_per_s      DOUBLE PRECISION,
    duration_ms       DOUBLE PRECISION,
    usage_estimated   BOOLEAN,
    params            TEXT NOT NULL DEFAULT '{}',
    session_id        TEXT,
    parent_id         TEXT,
    skills            TEXT NOT NULL DEFAULT '[]',
    tools             TEXT NOT NULL DEFAULT '[]',
    tool_calls        INTEGER NOT NULL DEFAULT 0,
    tool_errors       INTEGER NOT NULL DEFAULT 0,
    tool_ms           DOUBLE PRECISION NOT NULL DEFAULT 0,
    client            TEXT
);
CREATE INDEX ctl_jobs_by_state ON ctl_jobs (state, id);
CREATE INDEX ctl_jobs_by_finished ON ctl_jobs (finished_at);
CREATE INDEX ctl_jobs_by_parent ON ctl_jobs (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE ctl_sessions (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ctl_sessions_by_updated ON ctl_sessions (updated_at, id);

CREATE TABLE ctl_messages (
    id         TEXT PRIMARY KEY,
    n          BIGSERIAL,
    session_id TEXT NOT NULL REFERENCES ctl_sessions (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    content    TEXT NOT NULL,
    job_id     TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX ctl_messages_by_session ON ctl_messages (session_id, created_at);
CREATE UNIQUE INDEX ctl_messages_by_job ON ctl_messages (job_id, role) WHERE job_id IS NOT NULL;

CREATE TABLE ctl_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX ctl_tokens_by_name ON ctl_tokens (name);

CREATE TABLE ctl_web_sessions (
    hash       TEXT PRIMARY KEY,
    token_id   TEXT NOT NULL REFERENCES ctl_tokens (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX ctl_web_sessions_by_token ON ctl_web_sessions (token_id);

CREATE TABLE ctl_tool_calls (
    id          BIGSERIAL PRIMARY KEY,
    ts          TEXT NOT NULL,
    tool        TEXT NOT NULL,
    args_sha256 TEXT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    outcome     TEXT NOT NULL,
    bytes       BIGINT NOT NULL,
    source      TEXT NOT NULL,
    job_id      TEXT
);
CREATE INDEX ctl_tool_calls_by_tool ON ctl_tool_calls (tool, outcome);
CREATE INDEX ctl_tool_calls_by_job ON ctl_tool_calls (job_id) WHERE job_id IS NOT NULL;

CREATE TABLE ctl_idempotency_keys (
    token_id       TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    job_id         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (token_id, key)
);
CREATE INDEX ctl_idempotency_keys_by_age ON ctl_idempotency_keys (created_at);
