-- Jobs on several nodes (issue 14): the node that holds a job renews its lease (Unix
-- seconds) while the job waits or runs; a job whose lease ran out (its node stopped) is
-- taken up by another node, which counts the attempt.
ALTER TABLE jobs ADD COLUMN node TEXT;
ALTER TABLE jobs ADD COLUMN lease_until BIGINT;
ALTER TABLE jobs ADD COLUMN attempts BIGINT NOT NULL DEFAULT 1;
CREATE INDEX jobs_by_lease ON jobs (status, lease_until);

-- One claim per scheduled due time across all nodes: a node runs a due pull or upkeep only
-- when its insert of the slot's key succeeds.
CREATE TABLE schedule_claims (
    slot TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    claimed_at TEXT NOT NULL
);
