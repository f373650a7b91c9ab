-- The failures feed (alerts) reads failed records past a cursor by `seq`.
CREATE INDEX ctl_jobs_failed_by_seq ON ctl_jobs (seq) WHERE state = 'failed';
