-- Department databases the library pulls from, the pulls themselves, and background jobs.
-- The PostgreSQL twin of this file differs only in how ids are generated.
CREATE TABLE data_sources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    -- postgres | mysql
    kind TEXT NOT NULL,
    host TEXT NOT NULL,
    port BIGINT NOT NULL,
    database_name TEXT NOT NULL,
    username TEXT NOT NULL,
    -- SM4-GCM sealed under the platform's secret key; never stored in clear.
    password_sealed TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE pulls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    source_id BIGINT NOT NULL REFERENCES data_sources(id),
    table_name TEXT NOT NULL,
    query TEXT NOT NULL,
    -- append | overwrite | upsert | delete
    mode TEXT NOT NULL,
    -- JSON list of key columns
    keys TEXT NOT NULL,
    incremental_column TEXT,
    -- The largest value of incremental_column taken so far (as text).
    high_water TEXT,
    -- Run by the scheduler every so many minutes; NULL: only by hand.
    every_minutes BIGINT,
    last_run_at TEXT,
    last_status TEXT,
    last_message TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Long-running work (ingests of uploaded files, pulls): status and report readable later.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    table_name TEXT NOT NULL,
    -- queued | running | succeeded | failed
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    org_id BIGINT NOT NULL,
    -- JSON: what was asked (file name, mode, keys, ...)
    request TEXT NOT NULL,
    rows_done BIGINT NOT NULL,
    bytes_done BIGINT NOT NULL,
    bytes_total BIGINT,
    -- JSON ingest report when succeeded, or the refusal with its bad rows
    report TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX jobs_by_user ON jobs (created_by, id);
