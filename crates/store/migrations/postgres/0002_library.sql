-- The resource library's tables as the platform knows them: which catalog entry each
-- belongs to, where it lives, and its figures after the last change.
CREATE TABLE library_tables (
    name TEXT PRIMARY KEY,
    entry_id BIGINT REFERENCES catalog_entries(id),
    uri TEXT NOT NULL,
    version BIGINT NOT NULL,
    row_count BIGINT NOT NULL,
    byte_count BIGINT NOT NULL,
    file_count BIGINT NOT NULL,
    -- JSON list of {name, type, nulls, distinct}
    columns TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- When the table was last fed (its last commit).
    updated_at TEXT NOT NULL
);
CREATE INDEX library_tables_entry ON library_tables (entry_id);
