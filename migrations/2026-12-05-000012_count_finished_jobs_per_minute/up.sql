-- Finished jobs counted per kind, minute and status, kept by triggers on `jobs` in the same
-- transaction as the change they count. The operators' "last 24 h" counts and the throughput
-- chart then sum at most 1,440 minutes per kind and status, whatever a day's volume.
-- `shard` (from the job id's last hex digit) spreads the jobs of a kind finishing in one
-- minute over 8 rows, so concurrent workers seldom queue on one row lock until their
-- commits; a day is then at most 1,440 × 8 rows per kind and status.
CREATE TABLE job_finish_minutes (
    kind VARCHAR(32) NOT NULL,
    minute DATETIME NOT NULL,
    status VARCHAR(16) NOT NULL,
    shard TINYINT UNSIGNED NOT NULL,
    jobs BIGINT NOT NULL,
    PRIMARY KEY (minute, kind, status, shard)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO job_finish_minutes (kind, minute, status, shard, jobs)
SELECT kind, CAST(DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i:00') AS DATETIME), status,
       CONV(RIGHT(id, 1), 16, 10) % 8, COUNT(*)
FROM jobs
WHERE status IN ('succeeded', 'failed') AND finished_at IS NOT NULL
GROUP BY 1, 2, 3, 4;

-- Adds `delta` to the count a job row is in, if it is in one. A decrement may find its minute
-- already forgotten; the negative row it leaves is forgotten with that minute.
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

CREATE TRIGGER jobs_count_finished_insert AFTER INSERT ON jobs FOR EACH ROW
    CALL count_finished_job(NEW.id, NEW.kind, NEW.status, NEW.finished_at, 1);

-- A retried job leaves the count it was in; a job that finishes enters one.
CREATE TRIGGER jobs_count_finished_update AFTER UPDATE ON jobs FOR EACH ROW
BEGIN
    IF NOT (OLD.status <=> NEW.status AND OLD.finished_at <=> NEW.finished_at
            AND OLD.kind <=> NEW.kind) THEN
        CALL count_finished_job(OLD.id, OLD.kind, OLD.status, OLD.finished_at, -1);
        CALL count_finished_job(NEW.id, NEW.kind, NEW.status, NEW.finished_at, 1);
    END IF;
END;

CREATE TRIGGER jobs_count_finished_delete AFTER DELETE ON jobs FOR EACH ROW
    CALL count_finished_job(OLD.id, OLD.kind, OLD.status, OLD.finished_at, -1);
