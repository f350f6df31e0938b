-- A user's personal tasks. Title and description use a case-insensitive collation so that
-- `search` is a plain LIKE that can use no lower() on the column. Every list query filters by
-- owner first, so each index leads with owner_id and then one ordering column.
CREATE TABLE tasks (
    id CHAR(36) NOT NULL PRIMARY KEY,
    owner_id CHAR(36) NOT NULL,
    title VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    description TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    status_task VARCHAR(16) NOT NULL,
    date_created DATETIME(6) NOT NULL,
    last_updated DATETIME(6) NOT NULL,
    INDEX tasks_owner_created_idx (owner_id, date_created, id),
    INDEX tasks_owner_updated_idx (owner_id, last_updated, id),
    INDEX tasks_owner_title_idx (owner_id, title, id),
    INDEX tasks_owner_status_created_idx (owner_id, status_task, date_created, id),
    CONSTRAINT tasks_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
