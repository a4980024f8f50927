-- Logical centralization (issue 15): a source database's table that SQL over the library
-- reads in place (`tongshu external add`), under a name beside the library's tables.
CREATE TABLE external_tables (
    name TEXT PRIMARY KEY,
    source_id BIGINT NOT NULL REFERENCES data_sources(id),
    -- `schema.table` (PostgreSQL) or `database.table` / `table` (MySQL) in the source.
    source_table TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
