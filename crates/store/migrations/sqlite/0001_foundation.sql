-- Foundation: organizations, accounts, sessions, API tokens, catalog entries and their history.
-- Times are UTC text in RFC 3339 (`2026-01-02T03:04:05Z`), which sorts correctly as text.
-- The PostgreSQL twin of this file differs only in how ids are generated.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id BIGINT REFERENCES organizations(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    district_code TEXT NOT NULL,
    credit_code TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE catalog_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    class_code TEXT NOT NULL,
    seq BIGINT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    status TEXT NOT NULL,
    name TEXT NOT NULL,
    class TEXT NOT NULL,
    format TEXT NOT NULL,
    sharing_type TEXT NOT NULL,
    open_type TEXT NOT NULL,
    update_cycle TEXT NOT NULL,
    grading TEXT NOT NULL,
    district_code TEXT NOT NULL,
    body TEXT NOT NULL,
    review_comment TEXT,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    listed_at TEXT,
    UNIQUE (class_code, seq),
    UNIQUE (org_id, name)
);
CREATE INDEX catalog_entries_status ON catalog_entries (status, org_id);
CREATE INDEX catalog_entries_district ON catalog_entries (district_code, status);

CREATE TABLE entry_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id BIGINT NOT NULL REFERENCES catalog_entries(id),
    at TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    comment TEXT,
    changes TEXT NOT NULL
);
CREATE INDEX entry_history_entry ON entry_history (entry_id, id);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
