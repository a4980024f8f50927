-- The real-time channel (issue 15): an operator asked for a new snapshot of every table
-- of a pipeline (a MySQL/MariaDB source keeps no slot whose loss would mean one); the
-- next run copies every table again and clears it once it streams.
ALTER TABLE channel_pipelines ADD COLUMN resnapshot BIGINT NOT NULL DEFAULT 0;

-- Bytes of the source's log the pipeline holds (a PostgreSQL slot's retained WAL) or has
-- still to read (MySQL/MariaDB binlog), as its runner last measured.
ALTER TABLE channel_pipelines ADD COLUMN log_bytes BIGINT;

-- What each pipeline's runner measured now and then (every ten seconds, a day kept):
-- the charts of lag and throughput on the channel's pages.
CREATE TABLE channel_samples (
    pipeline TEXT NOT NULL,
    at BIGINT NOT NULL,
    lag_ms BIGINT,
    -- Changes applied since the runner started (a new runner starts from 0 again).
    changes BIGINT NOT NULL,
    log_bytes BIGINT,
    PRIMARY KEY (pipeline, at)
);
