-- The real-time channel (issue 15): a PostgreSQL pipeline may use a publication and a
-- replication slot that the source's administrators made and named at `channel add`,
-- instead of the `tongshu_<pipeline>` ones Tongshu makes. NULL: Tongshu's own.
ALTER TABLE channel_pipelines ADD COLUMN publication TEXT;
ALTER TABLE channel_pipelines ADD COLUMN slot_name TEXT;
