-- The operators' per-kind counts read ranges of these: the waiting rows by status and kind
-- (with the oldest enqueue time in the index), and the rows finished since a moment.
CREATE INDEX jobs_status_kind_enqueued_idx ON jobs (status, kind, enqueued_at);
CREATE INDEX jobs_status_finished_kind_idx ON jobs (status, finished_at, kind);
