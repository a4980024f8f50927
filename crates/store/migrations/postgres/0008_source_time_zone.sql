-- The zone of a department database's times without one (MySQL DATETIME, PostgreSQL
-- TIMESTAMP), as an offset: they are that zone's wall clock. Beijing unless registered
-- otherwise (issue 13).
ALTER TABLE data_sources ADD COLUMN time_zone TEXT NOT NULL DEFAULT '+08:00';
