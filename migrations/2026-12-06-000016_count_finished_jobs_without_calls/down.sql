DROP TRIGGER IF EXISTS jobs_count_finished_insert;
DROP TRIGGER IF EXISTS jobs_count_finished_update;
DROP TRIGGER IF EXISTS jobs_count_finished_delete;

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

CREATE TRIGGER jobs_count_finished_insert AFTER INSERT ON jobs FOR EACH ROW
    CALL count_finished_job(NEW.id, NEW.kind, NEW.status, NEW.finished_at, 1);

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
