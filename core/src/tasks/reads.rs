//! Task reads by id, batched (see `reads::batched`): each read is scoped to its owner, so
//! another user's task is not found.

use diesel::QueryResult;
use diesel_async::AsyncMysqlConnection;
use dispatch_shared::models::TaskRow;
use dispatch_shared::repo::tasks;
use uuid::Uuid;

use crate::reads::batched::{BatchedReads, PointRead};

pub struct TaskById;

/// Whose task, and which.
pub struct TaskKey {
    pub owner: Uuid,
    pub id: Uuid,
}

impl PointRead for TaskById {
    type Key = TaskKey;
    type Row = TaskRow;
    const WHAT: &'static str = "task";

    fn row_id(key: &TaskKey) -> String {
        key.id.to_string()
    }

    async fn find_many(
        conn: &mut AsyncMysqlConnection,
        ids: &[String],
    ) -> QueryResult<Vec<TaskRow>> {
        tasks::find_many(conn, ids).await
    }

    fn answers(row: &TaskRow, key: &TaskKey) -> bool {
        row.id.0 == key.id && row.owner_id.0 == key.owner
    }
}

pub type TaskReads = BatchedReads<TaskById>;
