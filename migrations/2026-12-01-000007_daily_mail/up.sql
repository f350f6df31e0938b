-- The welcome mail's claim: the send_mail job that owns a user's mail. A user is claimed
-- once (in the same transaction that creates the job), so no two runs mail the same user.
ALTER TABLE users
    ADD COLUMN welcome_mail_job_id CHAR(36) NULL AFTER last_login,
    ADD INDEX users_welcome_mail_idx (welcome_mail_job_id, date_joined);

-- The request that started a job, for tracing it through the worker's logs.
ALTER TABLE jobs ADD COLUMN request_id VARCHAR(128) NULL;

-- One row per schedule firing: however many workers see the tick, the first insert wins
-- and only it enqueues the run.
CREATE TABLE schedule_runs (
    schedule VARCHAR(64) NOT NULL,
    fire_at DATETIME NOT NULL,
    job_id CHAR(36) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (schedule, fire_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
