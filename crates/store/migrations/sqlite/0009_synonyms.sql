-- The portal's synonym dictionary (issue 13). Terms and targets are JSON arrays of strings;
-- targets empty: the terms are equivalent. A change bumps the change counter, so every node
-- applies it at its next search.
CREATE TABLE synonyms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    terms TEXT NOT NULL,
    targets TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE TRIGGER synonyms_ins AFTER INSERT ON synonyms BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER synonyms_upd AFTER UPDATE ON synonyms BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER synonyms_del AFTER DELETE ON synonyms BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
