DROP PROCEDURE IF EXISTS count_finished_job;

CREATE PROCEDURE count_finished_job(job_id CHAR(36), job_kind VARCHAR(32),
                                    job_status VARCHAR(16), finished DATETIME(6), delta INT)
BEGIN
    IF job_status IN ('succeeded', 'failed') AND finished IS NOT NULL THEN
        INSERT INTO job_finish_minutes (kind, minute, status, shard, jobs)
        VALUES (job_kind, CAST(DATE_FORMAT(finished, '%Y-%m-%d %H:%i:00') AS DATETIME),
                job_status, CONV(RIGHT(job_id, 1), 16, 10) % 8, delta)
        ON DUPLICATE KEY UPDATE jobs = jobs + delta;
    END IF;
END;
