-- The source of truth for every background job. Redis only carries job ids.
CREATE TABLE jobs (
    id CHAR(36) NOT NULL PRIMARY KEY,
    kind VARCHAR(32) NOT NULL,
    status VARCHAR(16) NOT NULL,
    attempts INT UNSIGNED NOT NULL DEFAULT 0,
    owner_id CHAR(36) NULL,
    payload LONGTEXT NULL,
    result LONGTEXT NULL,
    error TEXT NULL,
    error_code VARCHAR(64) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    finished_at DATETIME(6) NULL,
    enqueued_at DATETIME(6) NOT NULL,
    lease_until DATETIME(6) NULL,
    INDEX jobs_owner_created_idx (owner_id, created_at),
    INDEX jobs_status_enqueued_idx (status, enqueued_at),
    INDEX jobs_status_lease_idx (status, lease_until),
    INDEX jobs_finished_idx (finished_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
