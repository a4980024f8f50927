-- Sharing and exchange between departments (issue 5): the working-day calendar, consumer
-- apps, share requests and grants with their history, masking rules, request nonces, and
-- the SM3 hash-chained evidence log. The PostgreSQL twin differs only in how ids are generated.

-- Exceptions to "weekends off": public holidays and make-up working days.
CREATE TABLE calendar_days (
    day TEXT PRIMARY KEY,
    -- holiday | workday
    kind TEXT NOT NULL,
    name TEXT NOT NULL
);

-- A consumer department's application (system) that calls data interfaces. Requests are
-- signed with HMAC-SM3 under its secret, which the store holds sealed (SM4) because the
-- platform must recompute signatures.
CREATE TABLE exchange_apps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    app_key TEXT NOT NULL UNIQUE,
    secret_sealed TEXT NOT NULL,
    -- Quotas over all interfaces; NULL: the platform default.
    per_minute BIGINT,
    per_day BIGINT,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- A department's request for another department's data (one catalog entry).
CREATE TABLE share_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id BIGINT NOT NULL REFERENCES catalog_entries(id),
    provider_org_id BIGINT NOT NULL REFERENCES organizations(id),
    consumer_org_id BIGINT NOT NULL REFERENCES organizations(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    app_id BIGINT REFERENCES exchange_apps(id),
    purpose TEXT NOT NULL,
    legal_basis TEXT,
    -- JSON: the item names wanted, and the row scope (conditions) if any.
    items TEXT NOT NULL,
    row_filter TEXT,
    valid_from TEXT NOT NULL,
    valid_to TEXT NOT NULL,
    consuming_system TEXT,
    -- pending | granted | refused
    status TEXT NOT NULL,
    -- The last working day for the provider's answer (YYYY-MM-DD).
    due_on TEXT NOT NULL,
    answer TEXT,
    answered_by BIGINT REFERENCES users(id),
    answered_at TEXT,
    -- 1 answered by the due day, 0 late; NULL while pending.
    on_time BIGINT,
    reminded_at TEXT,
    escalated_at TEXT,
    grant_id BIGINT,
    created_at TEXT NOT NULL
);
CREATE INDEX share_requests_provider ON share_requests (provider_org_id, status);
CREATE INDEX share_requests_consumer ON share_requests (consumer_org_id, status);

-- What a consumer organization (or one of its apps) may see of one entry's tables.
CREATE TABLE grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id BIGINT REFERENCES share_requests(id),
    entry_id BIGINT NOT NULL REFERENCES catalog_entries(id),
    consumer_org_id BIGINT NOT NULL REFERENCES organizations(id),
    -- NULL: every app and user of the consumer organization.
    app_id BIGINT REFERENCES exchange_apps(id),
    -- JSON arrays: the items granted, those of them shown in clear; JSON conditions.
    items TEXT NOT NULL,
    clear_items TEXT NOT NULL,
    row_filter TEXT,
    valid_from TEXT NOT NULL,
    valid_to TEXT NOT NULL,
    -- active | revoked
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX grants_consumer ON grants (consumer_org_id, entry_id);

-- Every change of a grant: created, narrowed, renewed, revoked.
CREATE TABLE grant_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    grant_id BIGINT NOT NULL REFERENCES grants(id),
    at TEXT NOT NULL,
    user_id BIGINT REFERENCES users(id),
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);

-- Masking presets: items whose name contains a pattern are masked from a grading up.
CREATE TABLE mask_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    patterns TEXT NOT NULL,
    mask TEXT NOT NULL,
    min_grading TEXT NOT NULL
);

-- Nonces of signed calls within the accepted clock window; a repeat is a replay.
CREATE TABLE exchange_nonces (
    app_id BIGINT NOT NULL,
    nonce TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (app_id, nonce)
);

-- The evidence log: append-only, each record carrying the SM3 hash of the one before.
CREATE TABLE evidence (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    -- call | grant | request | refusal
    kind TEXT NOT NULL,
    org_id BIGINT,
    app_id BIGINT,
    user_id BIGINT,
    subject TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    rows_out BIGINT NOT NULL,
    bytes_out BIGINT NOT NULL,
    status BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX evidence_subject ON evidence (subject, at);
CREATE INDEX evidence_org ON evidence (org_id, at);

-- The chain's head, one row: appends lock it, so records get consecutive numbers.
CREATE TABLE evidence_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO evidence_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The head as it stood at the end of each day, copied out of the chain.
CREATE TABLE evidence_anchors (
    day TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL
);
