-- Security fixes (issue 12). The twin for the other backend differs only in the triggers.

-- An exact change counter. Every change of a catalog entry, a library table record or an
-- organization bumps it in the same transaction (by trigger, so no writer can forget it),
-- so a node that sees the counter unchanged knows its copy of what is public is current,
-- and a delisting is seen by every node at its next request.
CREATE TABLE change_counter (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO change_counter (id, seq) VALUES (1, 0);
CREATE TRIGGER catalog_entries_ins AFTER INSERT ON catalog_entries BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_entries_upd AFTER UPDATE ON catalog_entries BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER catalog_entries_del AFTER DELETE ON catalog_entries BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER library_tables_ins AFTER INSERT ON library_tables BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER library_tables_upd AFTER UPDATE ON library_tables BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER library_tables_del AFTER DELETE ON library_tables BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER organizations_ins AFTER INSERT ON organizations BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER organizations_upd AFTER UPDATE ON organizations BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;

-- The items a verification must give values for, all of them (JSON array); NULL: every
-- item the consumer sees masked.
ALTER TABLE grants ADD COLUMN verify_items TEXT;

-- Verifications without a match, per caller (app key or user), interface and Beijing day.
CREATE TABLE verify_misses (
    caller TEXT NOT NULL,
    subject TEXT NOT NULL,
    day TEXT NOT NULL,
    misses BIGINT NOT NULL,
    PRIMARY KEY (caller, subject, day)
);

-- Failed sign-ins per key (name and address, address, name) in fixed windows, shared by
-- every node.
CREATE TABLE sign_in_failures (
    key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    failures BIGINT NOT NULL
);

-- Usernames are matched case-insensitively: username_key is the lower-cased name (names
-- are ASCII; full-width input is normalized before it gets here), unique. Where earlier
-- accounts differ only in case, the oldest keeps the name and the others are disabled
-- under a key no sign-in matches, for an administrator to rename.
-- username_skeleton folds lookalikes (0/o, 1/l/i, rn/m, vv/w, _ - .) so that a new name
-- that looks like an existing one is refused; the same folding as accounts::skeleton.
ALTER TABLE users ADD COLUMN username_key TEXT;
ALTER TABLE users ADD COLUMN username_skeleton TEXT;
UPDATE users SET username_key = lower(username);
UPDATE users SET username_key = username_key || '#' || CAST(id AS TEXT), disabled = 1
    WHERE id NOT IN (SELECT MIN(id) FROM users GROUP BY lower(username));
UPDATE users SET username_skeleton = replace(replace(replace(replace(replace(replace(replace(replace(
    lower(username), '0', 'o'), '1', 'l'), 'i', 'l'), '_', '.'), '-', '.'), '|', 'l'), 'rn', 'm'), 'vv', 'w');
CREATE UNIQUE INDEX users_login_key ON users (username_key);
CREATE INDEX users_username_skeleton ON users (username_skeleton);

-- Whether the public may read earlier versions of a table (time travel, old cursors).
-- Off: a provider who removes wrongly published rows makes them unreachable.
ALTER TABLE library_tables ADD COLUMN public_history BIGINT NOT NULL DEFAULT 0;
