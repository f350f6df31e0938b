-- The shard a finished job is counted in is now the writing connection's (`CONNECTION_ID()`),
-- not the job's. A worker finishes several jobs in one transaction, and with shards taken
-- from the job ids each such transaction held a lock on nearly every shard of the minute
-- until its commit, so concurrent transactions waited for each other. A connection runs
-- one transaction at a time, so transactions on different connections now mostly touch
-- different rows. The counts are summed over shards, so which shard holds an increment or
-- a decrement changes no total.
DROP PROCEDURE IF EXISTS count_finished_job;

CREATE PROCEDURE count_finished_job(job_id CHAR(36), job_kind VARCHAR(32),
                                    job_status VARCHAR(16), finished DATETIME(6), delta INT)
BEGIN
    IF job_status IN ('succeeded', 'failed') AND finished IS NOT NULL THEN
        INSERT INTO job_finish_minutes (kind, minute, status, shard, jobs)
        VALUES (job_kind, CAST(DATE_FORMAT(finished, '%Y-%m-%d %H:%i:00') AS DATETIME),
                job_status, CONNECTION_ID() % 8, delta)
        ON DUPLICATE KEY UPDATE jobs = jobs + delta;
    END IF;
END;
