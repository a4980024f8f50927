-- The three lists of the sharing work (demand, responsibility, negative) and objections to
-- shared data (issue 5). The PostgreSQL twin differs only in how ids are generated.

-- Demand list: what a department needs; the platform assigns it to a provider, who answers
-- by linking a catalog entry or explaining; a matched demand becomes a share request.
CREATE TABLE demands (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    -- open | assigned | matched | explained
    status TEXT NOT NULL,
    provider_org_id BIGINT REFERENCES organizations(id),
    entry_id BIGINT REFERENCES catalog_entries(id),
    answer TEXT,
    request_id BIGINT REFERENCES share_requests(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Responsibility list: which department must provide which data by when.
CREATE TABLE responsibilities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    due_on TEXT NOT NULL,
    -- Done when this entry is listed with a table.
    entry_id BIGINT REFERENCES catalog_entries(id),
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);

-- Negative list: entries that may not be shared, with the legal basis; requests for them
-- are refused automatically.
CREATE TABLE negative_list (
    entry_id BIGINT PRIMARY KEY REFERENCES catalog_entries(id),
    legal_basis TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);

-- Objections (数据异议): a consumer flags a record or item of a shared table as wrong.
CREATE TABLE objections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL,
    entry_id BIGINT NOT NULL REFERENCES catalog_entries(id),
    provider_org_id BIGINT NOT NULL REFERENCES organizations(id),
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    -- Which record (e.g. `公民身份号码=…`), which item, what it should be, why.
    record TEXT NOT NULL,
    item TEXT,
    expected TEXT,
    evidence TEXT NOT NULL,
    -- open | corrected | rejected
    status TEXT NOT NULL,
    due_on TEXT NOT NULL,
    answer TEXT,
    answered_by BIGINT REFERENCES users(id),
    answered_at TEXT,
    -- The library table version that carries the correction.
    fixed_version BIGINT,
    on_time BIGINT,
    created_at TEXT NOT NULL
);
CREATE INDEX objections_table ON objections (table_name, status);

-- Custom interfaces: read-only SQL views over library tables that administrators define.
-- A view belongs to one catalog entry, whose grants decide who sees which of its columns.
CREATE TABLE custom_views (
    name TEXT PRIMARY KEY,
    entry_id BIGINT NOT NULL REFERENCES catalog_entries(id),
    sql TEXT NOT NULL,
    description TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
