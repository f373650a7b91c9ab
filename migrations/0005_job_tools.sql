-- What a finished job could call and how its latest attempt used tools.
ALTER TABLE jobs ADD COLUMN tools TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN tool_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN tool_errors INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN tool_ms REAL NOT NULL DEFAULT 0;
