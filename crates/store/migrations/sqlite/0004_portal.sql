-- The open portal's interaction layer (issue 4) and its counters.
-- The PostgreSQL twin of this file differs only in how ids are generated.

-- Developer apps: an API token may carry an app description and its own rate limit.
ALTER TABLE api_tokens ADD COLUMN description TEXT;
ALTER TABLE api_tokens ADD COLUMN rate_per_minute BIGINT;

-- What the public posts and what answers it: data requests, feedback on a dataset, ratings
-- and comments, applications for conditionally open data, showcase submissions.
CREATE TABLE interactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- request | feedback | comment | application | showcase
    kind TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    -- The dataset it concerns (its portal name), when there is one.
    dataset TEXT,
    -- The organization expected to answer (the dataset's provider, or one a request names).
    org_id BIGINT REFERENCES organizations(id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- 1 to 5 for comments that rate; a link for showcase entries.
    rating BIGINT,
    link TEXT,
    -- pending | published | answered | approved | refused | hidden
    status TEXT NOT NULL,
    answer TEXT,
    answered_by TEXT,
    answered_at TEXT,
    -- End of access for approved applications.
    expires_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX interactions_kind_status ON interactions (kind, status);
CREATE INDEX interactions_dataset ON interactions (dataset);

-- Daily counters of downloads and API calls, per dataset and per API token (0: none).
CREATE TABLE usage_counts (
    day TEXT NOT NULL,
    dataset TEXT NOT NULL,
    -- download | call
    kind TEXT NOT NULL,
    token_id BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (day, dataset, kind, token_id)
);
CREATE INDEX usage_counts_token ON usage_counts (token_id, day);
