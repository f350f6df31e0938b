DROP TRIGGER IF EXISTS jobs_count_finished_delete;
DROP TRIGGER IF EXISTS jobs_count_finished_update;
DROP TRIGGER IF EXISTS jobs_count_finished_insert;
DROP PROCEDURE IF EXISTS count_finished_job;
DROP TABLE IF EXISTS job_finish_minutes;
