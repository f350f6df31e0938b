//! Each owner's task list version. Triggers on `tasks` count it up with every change to the
//! owner's tasks, inside the change's transaction; nothing here writes it.

use diesel::prelude::*;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};

use crate::db::id::Id;
use crate::db::schema::task_list_versions::{self, dsl};
use crate::load_by_ids;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = task_list_versions)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
pub struct TaskListVersionRow {
    pub owner_id: Id,
    pub version: i64,
}

/// The versions of these owners' lists; an owner whose tasks never changed has no row.
pub async fn find_many(
    conn: &mut AsyncMysqlConnection,
    owner_ids: &[String],
) -> QueryResult<Vec<TaskListVersionRow>> {
    load_by_ids!(conn, owner_ids, dsl::task_list_versions, dsl::owner_id, TaskListVersionRow)
}
