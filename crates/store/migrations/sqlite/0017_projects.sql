-- IT projects and information systems (issue 16). The PostgreSQL twin of this file
-- differs only in how ids are generated.

-- A project (政务信息化项目) from proposal to post-evaluation.
CREATE TABLE projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    year BIGINT NOT NULL,
    purpose TEXT NOT NULL,
    -- Yuan.
    budget BIGINT NOT NULL,
    funding_source TEXT NOT NULL,
    -- JSON lists: names of the systems it will build; inventory systems it will reuse.
    builds TEXT NOT NULL DEFAULT '[]',
    reuses TEXT NOT NULL DEFAULT '[]',
    -- proposal | review | approval | construction | acceptance | operation | evaluation |
    -- rectification | retired | rejected (core::projects::Stage)
    stage TEXT NOT NULL,
    -- The day the current stage's step is due (working days after it began).
    stage_due TEXT,
    -- JSON list of catalog entry ids it will consume; NULL: not yet declared.
    consumes TEXT,
    consumes_reason TEXT NOT NULL DEFAULT '',
    -- Why a new system is needed although the inventory has similar ones (集约利旧).
    reuse_reason TEXT NOT NULL DEFAULT '',
    -- JSON object: acceptance checklist item -> passed (technical, financial, archive, effectiveness).
    checklist TEXT NOT NULL DEFAULT '{}',
    -- JSON object: decommission checklist item -> done.
    decommission TEXT NOT NULL DEFAULT '{}',
    accepted_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Every step of every project: who, when, from where to where, why.
CREATE TABLE project_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    action TEXT NOT NULL,
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    actor TEXT NOT NULL,
    comment TEXT NOT NULL,
    at TEXT NOT NULL
);

-- Catalog entries a project registers as data it will produce.
CREATE TABLE project_entries (
    project_id BIGINT NOT NULL REFERENCES projects(id),
    entry_id BIGINT NOT NULL REFERENCES catalog_entries(id),
    PRIMARY KEY (project_id, entry_id)
);

-- Documents attached to a project's stages; the file is kept under the data directory
-- (or the object store) by its SM3 hash.
CREATE TABLE project_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    stage TEXT NOT NULL,
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sm3 TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);

-- Experts assigned to review a project, and their scores.
CREATE TABLE project_reviews (
    project_id BIGINT NOT NULL REFERENCES projects(id),
    expert_id BIGINT NOT NULL REFERENCES users(id),
    score DOUBLE PRECISION,
    -- JSON object: review sheet item -> 0..100 (core::projects::evaluation::REVIEW_SHEET).
    sheet TEXT,
    comment TEXT NOT NULL DEFAULT '',
    scored_at TEXT,
    PRIMARY KEY (project_id, expert_id)
);

-- Construction milestones: planned, forecast and actual dates and costs (yuan).
CREATE TABLE project_milestones (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    planned_on TEXT NOT NULL,
    forecast_on TEXT,
    actual_on TEXT,
    planned_cost BIGINT NOT NULL,
    actual_cost BIGINT,
    -- How many times it was re-baselined.
    baseline BIGINT NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);

-- A milestone's earlier plans, kept when it is re-baselined.
CREATE TABLE project_baselines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    milestone_id BIGINT NOT NULL REFERENCES project_milestones(id),
    planned_on TEXT NOT NULL,
    planned_cost BIGINT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);

-- Payments made (yuan).
CREATE TABLE project_payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    amount BIGINT NOT NULL,
    paid_on TEXT NOT NULL,
    note TEXT NOT NULL,
    actor TEXT NOT NULL
);

-- Risk ratings 1 (high) – 5 (low): computed ones and operators' overrides, history kept.
CREATE TABLE project_risks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    rating BIGINT NOT NULL,
    overridden BIGINT NOT NULL,
    comment TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);

-- The inventory of the city's information systems.
CREATE TABLE info_systems (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    -- website | oa | email | business | public_service | wechat | microblog | app | other
    kind TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations(id),
    project_id BIGINT REFERENCES projects(id),
    vendor TEXT NOT NULL DEFAULT '',
    -- Yuan per year.
    cost_per_year BIGINT,
    -- JSON list of URLs.
    urls TEXT NOT NULL DEFAULT '[]',
    hosting TEXT NOT NULL DEFAULT '',
    security_level BIGINT,
    -- in_use | rectifying | stopped
    status TEXT NOT NULL,
    -- JSON lists: catalog entry ids it produces, app ids it calls with.
    entries TEXT NOT NULL DEFAULT '[]',
    apps TEXT NOT NULL DEFAULT '[]',
    users TEXT NOT NULL DEFAULT '',
    function TEXT NOT NULL DEFAULT '',
    -- New media: the day of the last post; messages: the day the oldest unanswered one came.
    last_post_on TEXT,
    oldest_unanswered_on TEXT,
    duplicate_of BIGINT REFERENCES info_systems(id),
    -- The last verdict: healthy | semi_zombie | zombie, and its findings (JSON).
    verdict TEXT,
    findings TEXT NOT NULL DEFAULT '[]',
    checked_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org_id, name)
);

-- HTTP probes of systems' URLs (a week is judged).
CREATE TABLE system_probes (
    system_id BIGINT NOT NULL REFERENCES info_systems(id),
    url TEXT NOT NULL,
    at BIGINT NOT NULL,
    ok BIGINT NOT NULL,
    status BIGINT,
    ms BIGINT NOT NULL,
    -- SM3 of the page body: a change means the page was updated.
    page_hash TEXT,
    PRIMARY KEY (system_id, url, at)
);

-- Rectification tickets opened by zombie detections.
CREATE TABLE system_tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id BIGINT NOT NULL REFERENCES info_systems(id),
    severity TEXT NOT NULL,
    findings TEXT NOT NULL,
    -- open | fixed | merged | stopped
    status TEXT NOT NULL,
    due_on TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT '',
    merged_into BIGINT REFERENCES info_systems(id),
    opened_at TEXT NOT NULL,
    closed_by TEXT,
    closed_at TEXT
);

-- Post-evaluation rounds: the indicator tree with this round's weights.
CREATE TABLE evaluation_rounds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    year BIGINT NOT NULL,
    -- JSON core::projects::evaluation::Tree, and the AHP matrix its weights came from.
    tree TEXT NOT NULL,
    matrix TEXT,
    consistency_ratio DOUBLE PRECISION,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- One evaluation of a project in a round: self, third_party or on_site.
CREATE TABLE project_evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id BIGINT NOT NULL REFERENCES evaluation_rounds(id),
    project_id BIGINT NOT NULL REFERENCES projects(id),
    kind TEXT NOT NULL,
    -- JSON object indicator key -> score.
    scores TEXT NOT NULL,
    total DOUBLE PRECISION NOT NULL,
    grade TEXT NOT NULL,
    comment TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE (round_id, project_id, kind)
);
