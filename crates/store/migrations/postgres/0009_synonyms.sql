-- The portal's synonym dictionary (issue 13). Terms and targets are JSON arrays of strings;
-- targets empty: the terms are equivalent. A change bumps the change counter, so every node
-- applies it at its next search.
CREATE TABLE synonyms (
    id BIGSERIAL PRIMARY KEY,
    terms TEXT NOT NULL,
    targets TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at TEXT NOT NULL
);
CREATE TRIGGER synonyms_changed AFTER INSERT OR UPDATE OR DELETE ON synonyms
    FOR EACH STATEMENT EXECUTE FUNCTION tongshu_count_change();
