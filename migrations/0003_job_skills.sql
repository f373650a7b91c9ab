-- The skills a finished job used (JSON array of {name, sha256, source}),
-- for provenance and usage by skill.
ALTER TABLE jobs ADD COLUMN skills TEXT NOT NULL DEFAULT '[]';
