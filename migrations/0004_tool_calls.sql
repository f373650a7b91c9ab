-- One row per tool call, whoever made it: an MCP client, `ctl tools call`,
-- or a job's tool loop. The arguments are kept only as a hash.
--
-- ts is RFC 3339 UTC with exactly nine fractional digits (string order is
-- time order), like the tables of migration 0002.
CREATE TABLE tool_calls (
    id          INTEGER PRIMARY KEY,
    ts          TEXT NOT NULL,
    tool        TEXT NOT NULL,
    -- SHA-256 of the arguments as canonical JSON (sorted keys), lowercase hex.
    args_sha256 TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    -- ok | invalid | refused | timeout | error | unknown | disabled | cancelled
    outcome     TEXT NOT NULL,
    -- Bytes of text returned.
    bytes       INTEGER NOT NULL,
    -- mcp | cli | job
    source      TEXT NOT NULL,
    job_id      TEXT
) STRICT;

-- Counts by tool and outcome (metrics, stats), and a job's calls.
CREATE INDEX tool_calls_by_tool ON tool_calls (tool, outcome);
CREATE INDEX tool_calls_by_job ON tool_calls (job_id) WHERE job_id IS NOT NULL;
