-- The exchange's change counter (issue 14): row 2 of change_counter, bumped in the
-- transaction of every change of a grant, the negative list, a masking rule or an app, so
-- a node may keep what a caller may see (its access, its app record) for as long as this
-- counter and the catalog's (row 1) stay where they were when it was computed.
INSERT INTO change_counter (id, seq) VALUES (2, 0);
CREATE FUNCTION tongshu_count_exchange_change() RETURNS trigger AS $$
BEGIN
    UPDATE change_counter SET seq = seq + 1 WHERE id = 2;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER grants_changed AFTER INSERT OR UPDATE OR DELETE ON grants
    FOR EACH STATEMENT EXECUTE FUNCTION tongshu_count_exchange_change();
CREATE TRIGGER negative_list_changed AFTER INSERT OR UPDATE OR DELETE ON negative_list
    FOR EACH STATEMENT EXECUTE FUNCTION tongshu_count_exchange_change();
CREATE TRIGGER mask_rules_changed AFTER INSERT OR UPDATE OR DELETE ON mask_rules
    FOR EACH STATEMENT EXECUTE FUNCTION tongshu_count_exchange_change();
CREATE TRIGGER exchange_apps_changed AFTER INSERT OR UPDATE OR DELETE ON exchange_apps
    FOR EACH STATEMENT EXECUTE FUNCTION tongshu_count_exchange_change();

-- Admits one interface call in one round trip: the app is known and not revoked, and the
-- day and minute windows have room (then counted; the app's own quotas, else the defaults
-- given; a limit of 0 or less is no limit and counts nothing). Answers the verdict (0
-- admitted, 1 unknown or revoked app, 3 day quota full, 4 minute quota full), the limits
-- applied, and both change counters as they were. (The nonce is used in the transaction
-- that writes the call's evidence record: `append_calls`.)
-- The admission commits without waiting for its WAL flush: an answer is released only after
-- its evidence record's commit, which flushes the WAL up to and past this admission, so the
-- counts of every answered call are durable; a crash can lose only those of calls that
-- released nothing.
CREATE FUNCTION tongshu_admit_call(
    p_app BIGINT, p_caller TEXT, p_subject TEXT,
    p_day_key TEXT, p_day_default BIGINT, p_day_until BIGINT,
    p_minute_key TEXT, p_minute_default BIGINT, p_minute_until BIGINT
) RETURNS TABLE (verdict INT, day_limit BIGINT, minute_limit BIGINT, catalog_seq BIGINT, exchange_seq BIGINT) AS $$
DECLARE
    v_day BIGINT := p_day_default;
    v_minute BIGINT := p_minute_default;
    v_found BOOLEAN := TRUE;
    v_revoked TEXT;
    v_catalog BIGINT;
    v_exchange BIGINT;
    n INT;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    IF p_app IS NULL THEN
        SELECT (SELECT seq FROM change_counter WHERE id = 1), (SELECT seq FROM change_counter WHERE id = 2)
            INTO v_catalog, v_exchange;
    ELSE
        SELECT (SELECT seq FROM change_counter WHERE id = 1), (SELECT seq FROM change_counter WHERE id = 2),
               a.id IS NOT NULL, COALESCE(a.per_day, p_day_default), COALESCE(a.per_minute, p_minute_default),
               a.revoked_at
            INTO v_catalog, v_exchange, v_found, v_day, v_minute, v_revoked
            FROM (SELECT 1) one LEFT JOIN exchange_apps a ON a.id = p_app;
        IF NOT v_found OR v_revoked IS NOT NULL THEN
            RETURN QUERY SELECT 1, v_day, v_minute, v_catalog, v_exchange;
            RETURN;
        END IF;
    END IF;
    IF v_day > 0 THEN
        INSERT INTO call_windows AS w (caller, subject, window_key, calls, until)
            VALUES (p_caller, p_subject, p_day_key, 1, p_day_until)
            ON CONFLICT (caller, subject, window_key) DO UPDATE SET calls = w.calls + 1
            WHERE w.calls < v_day;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
            RETURN QUERY SELECT 3, v_day, v_minute, v_catalog, v_exchange;
            RETURN;
        END IF;
    END IF;
    IF v_minute > 0 THEN
        INSERT INTO call_windows AS w (caller, subject, window_key, calls, until)
            VALUES (p_caller, p_subject, p_minute_key, 1, p_minute_until)
            ON CONFLICT (caller, subject, window_key) DO UPDATE SET calls = w.calls + 1
            WHERE w.calls < v_minute;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
            -- Not admitted: the day's count is given back.
            IF v_day > 0 THEN
                UPDATE call_windows SET calls = calls - 1
                    WHERE caller = p_caller AND subject = p_subject AND window_key = p_day_key;
            END IF;
            RETURN QUERY SELECT 4, v_day, v_minute, v_catalog, v_exchange;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT 0, v_day, v_minute, v_catalog, v_exchange;
END
$$ LANGUAGE plpgsql;
