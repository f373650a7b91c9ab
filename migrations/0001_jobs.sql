-- A record per finished job, so `ctl jobs` and `ctl show` need not scan files.
CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
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
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    ttft_ms           REAL,
    tokens_per_s      REAL,
    duration_ms       REAL,
    usage_estimated   INTEGER,
    params            TEXT NOT NULL DEFAULT '{}',
    session_id        TEXT,
    parent_id         TEXT
) STRICT;

CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_finished ON jobs (finished_at);
