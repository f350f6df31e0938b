//! Task reads by id, batched (see `reads::batched`), and pages of an owner's tasks, shared
//! by equal requests (see `reads::shared`). Each read is scoped to its owner, so another
//! user's task is not found.

use diesel::QueryResult;
use diesel_async::AsyncMysqlConnection;
use dispatch_shared::models::TaskRow;
use dispatch_shared::repo::tasks::{self, TaskFilter, TaskSort};
use uuid::Uuid;

use crate::listing::{Ordering, Window};
use crate::reads::batched::{BatchedReads, PointRead};
use crate::reads::shared::{SharedRead, SharedReads};

#[derive(Clone)]
pub struct TaskById;

/// Whose task, and which.
#[derive(Clone)]
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

#[derive(Clone)]
pub struct TaskPage;

/// One page of one owner's tasks, as asked.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TaskPageKey {
    pub owner: Uuid,
    pub filter: TaskFilter,
    pub ordering: Ordering<TaskSort>,
    pub window: Window,
}

impl SharedRead for TaskPage {
    type Key = TaskPageKey;
    /// The page's rows and the number across all pages.
    type Answer = (Vec<TaskRow>, i64);
    const WHAT: &'static str = "task page";

    async fn read(
        conn: &mut AsyncMysqlConnection,
        key: &TaskPageKey,
    ) -> QueryResult<(Vec<TaskRow>, i64)> {
        tasks::list(conn, key.owner, &key.filter, &key.ordering, key.window).await
    }
}

pub type TaskPages = SharedReads<TaskPage>;
