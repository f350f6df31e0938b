DROP INDEX jobs_status_finished_kind_idx ON jobs;
DROP INDEX jobs_status_kind_enqueued_idx ON jobs;
