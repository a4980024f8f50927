-- The exchange's change counter (issue 14): row 2 of change_counter, bumped in the
-- transaction of every change of a grant, the negative list, a masking rule or an app, so
-- a node may keep what a caller may see (its access, its app record) for as long as this
-- counter and the catalog's (row 1) stay where they were when it was computed.
INSERT INTO change_counter (id, seq) VALUES (2, 0);
CREATE TRIGGER grants_ins AFTER INSERT ON grants BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 2; END;
CREATE TRIGGER grants_upd AFTER UPDATE ON grants BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 2; END;
CREATE TRIGGER grants_del AFTER DELETE ON grants BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 2; END;
CREATE TRIGGER negative_list_ins AFTER INSERT ON negative_list BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 2; END;
CREATE TRIGGER negative_list_upd AFTER UPDATE ON negative_list BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 2; END;
CREATE TRIGGER negative_list_del AFTER DELETE ON negative_list BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 2; END;
CREATE TRIGGER mask_rules_ins AFTER INSERT ON mask_rules BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 2; END;
CREATE TRIGGER mask_rules_upd AFTER UPDATE ON mask_rules BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 2; END;
CREATE TRIGGER mask_rules_del AFTER DELETE ON mask_rules BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 2; END;
CREATE TRIGGER exchange_apps_ins AFTER INSERT ON exchange_apps BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 2; END;
CREATE TRIGGER exchange_apps_upd AFTER UPDATE ON exchange_apps BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 2; END;
CREATE TRIGGER exchange_apps_del AFTER DELETE ON exchange_apps BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 2; END;
