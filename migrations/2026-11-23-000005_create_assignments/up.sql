-- A task assigned to a user for one date (reference 001). Hard deletes free the slot.
CREATE TABLE assignments (
    id CHAR(36) NOT NULL PRIMARY KEY,
    task_id CHAR(36) NOT NULL,
    user_id CHAR(36) NOT NULL,
    date DATE NOT NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT assignments_task_user_date_key UNIQUE (task_id, user_id, date),
    INDEX assignments_user_date_idx (user_id, date),
    INDEX assignments_created_idx (created_at),
    CONSTRAINT assignments_task_fk FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE,
    CONSTRAINT assignments_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per assignee and date, locked (SELECT ... FOR UPDATE) by every assignment to that
-- pair: the daily limit is checked and the assignment inserted while holding it, so
-- concurrent requests for one user and date are serialised and never exceed the limit.
-- It holds no count (a count could drift when tasks are deleted); the rows are counted.
CREATE TABLE assignment_days (
    user_id CHAR(36) NOT NULL,
    date DATE NOT NULL,
    PRIMARY KEY (user_id, date),
    CONSTRAINT assignment_days_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
