DROP TRIGGER tasks_deleted_count_version;
DROP TRIGGER tasks_moved_count_version;
DROP TRIGGER tasks_updated_count_version;
DROP TRIGGER tasks_inserted_count_version;
DROP TABLE task_list_versions;
