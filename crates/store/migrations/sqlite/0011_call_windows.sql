-- Quotas and rate limits shared by every node (issue 14): calls per caller, subject and
-- window ("m:<minute>", "d:<day>"), counted in the store, so two nodes do not double a
-- quota. Rows are dropped once their window is over (`until`, Unix seconds).
CREATE TABLE call_windows (
    caller TEXT NOT NULL,
    subject TEXT NOT NULL,
    window_key TEXT NOT NULL,
    calls BIGINT NOT NULL,
    until BIGINT NOT NULL,
    PRIMARY KEY (caller, subject, window_key)
);
CREATE INDEX call_windows_by_end ON call_windows (until);
