DROP TABLE schedule_runs;
ALTER TABLE jobs DROP COLUMN request_id;
ALTER TABLE users DROP INDEX users_welcome_mail_idx, DROP COLUMN welcome_mail_job_id;
