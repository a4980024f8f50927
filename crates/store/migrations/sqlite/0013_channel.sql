-- The real-time channel (issue 15): pipelines that carry a source database's tables into
-- library tables by change data capture. The PostgreSQL twin of this file differs only in
-- how ids are generated.
CREATE TABLE channel_pipelines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    source_id BIGINT NOT NULL REFERENCES data_sources(id),
    -- JSON list of {"source": "schema.table", "target": "library_table", "keys": [..]}
    tables TEXT NOT NULL,
    batch_ms BIGINT NOT NULL,
    batch_changes BIGINT NOT NULL,
    -- Set while an operator (or a schema change) holds the pipeline: why.
    paused TEXT,
    -- 1: the next run accepts the source's pending schema change (a dropped, renamed or
    -- retyped column) instead of pausing again; cleared once it has.
    accept_schema BIGINT NOT NULL DEFAULT 0,
    -- What its runner last reported: new | snapshotting | streaming | paused | failed | stopped
    state TEXT NOT NULL,
    message TEXT NOT NULL,
    -- JSON status of each table (position, rows copied, changes applied)
    table_status TEXT NOT NULL,
    confirmed BIGINT,
    lag_ms BIGINT,
    -- The node running it, until when (Unix seconds): one runner at a time.
    node TEXT,
    lease_until BIGINT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
