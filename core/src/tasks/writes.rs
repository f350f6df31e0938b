//! New tasks, inserted in batches (see `writes`): the creates that arrive together share
//! one statement and one commit.

use diesel::QueryResult;
use diesel_async::AsyncMysqlConnection;
use dispatch_shared::models::TaskRow;
use dispatch_shared::repo::tasks;

use crate::writes::{BatchedInsert, BatchedInserts};

#[derive(Clone)]
pub struct NewTasks;

impl BatchedInsert for NewTasks {
    type Row = TaskRow;
    const WHAT: &'static str = "task";
    const MAX_BATCH: usize = tasks::MAX_INSERT_BATCH;

    async fn insert_many(conn: &mut AsyncMysqlConnection, rows: &[TaskRow]) -> QueryResult<()> {
        tasks::insert_many(conn, rows).await
    }
}

pub type TaskInserts = BatchedInserts<NewTasks>;
