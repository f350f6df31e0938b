-- Each owner's tasks carry a version that every change to them counts up, in the change's
-- own transaction: an instance that read a page at some version may answer the same page
-- again for as long as the version is unchanged, and a change that has committed is never
-- missed. Triggers count every way a row can change, including statements run by hand.
-- (A user's deletion removes its tasks by cascade, which fires no trigger; its version goes
-- with it.)
CREATE TABLE task_list_versions (
    owner_id CHAR(36) NOT NULL PRIMARY KEY,
    version BIGINT NOT NULL,
    CONSTRAINT task_list_versions_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TRIGGER tasks_inserted_count_version AFTER INSERT ON tasks FOR EACH ROW
    INSERT INTO task_list_versions (owner_id, version) VALUES (NEW.owner_id, 1)
    ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER tasks_updated_count_version AFTER UPDATE ON tasks FOR EACH ROW
    INSERT INTO task_list_versions (owner_id, version) VALUES (NEW.owner_id, 1)
    ON DUPLICATE KEY UPDATE version = version + 1;

-- Tasks do not change owners, but a row moved by hand leaves its old owner's list too.
CREATE TRIGGER tasks_moved_count_version AFTER UPDATE ON tasks FOR EACH ROW FOLLOWS tasks_updated_count_version
    INSERT INTO task_list_versions (owner_id, version)
    SELECT OLD.owner_id, 1 FROM DUAL WHERE OLD.owner_id <> NEW.owner_id
    ON DUPLICATE KEY UPDATE version = version + 1;

CREATE TRIGGER tasks_deleted_count_version AFTER DELETE ON tasks FOR EACH ROW
    INSERT INTO task_list_versions (owner_id, version) VALUES (OLD.owner_id, 1)
    ON DUPLICATE KEY UPDATE version = version + 1;
