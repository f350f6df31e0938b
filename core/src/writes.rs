//! Inserts that arrive together share one statement and one commit: while earlier batches
//! are at the database, new rows queue, and the next free slot writes all of them as one
//! multi-row `INSERT` (autocommitted). Each caller is answered after that statement returns,
//! so its answer still means its row is committed. A row alone goes at once.
//!
//! If the shared statement fails, each row is written alone, so one bad row (an owner deleted
//! meanwhile) fails only its own request.

use std::future::Future;
use std::sync::Arc;

use diesel::QueryResult;
use diesel_async::AsyncMysqlConnection;
use dispatch_shared::db::{DbError, DbPool};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::batching::{next_batch, Asked, Batcher};
use crate::Failure;

/// One kind of row inserted in batches.
pub trait BatchedInsert: Send + Sync + 'static {
    type Row: Send + Sync + 'static;
    /// What the log calls these writes.
    const WHAT: &'static str;
    /// The most rows one statement carries (each count is its own prepared statement).
    const MAX_BATCH: usize;

    fn insert_many(
        conn: &mut AsyncMysqlConnection,
        rows: &[Self::Row],
    ) -> impl Future<Output = QueryResult<()>> + Send;
}

type Write<W> = Asked<<W as BatchedInsert>::Row, Result<(), Failure>>;

#[derive(Clone)]
pub struct BatchedInserts<W: BatchedInsert> {
    queue: Batcher<W::Row, Result<(), Failure>>,
}

impl<W: BatchedInsert> BatchedInserts<W> {
    /// Writes through `db`, at most `in_flight` batches at once.
    pub fn spawn(db: DbPool, in_flight: usize) -> Self {
        let name = format!("{} writer", W::WHAT);
        Self { queue: Batcher::spawn(name, db, in_flight, dispatch::<W>) }
    }

    /// Inserts `row`; `Ok` once it is committed.
    pub async fn insert(&self, row: W::Row) -> Result<(), Failure> {
        self.queue.ask(row).await?
    }
}

async fn dispatch<W: BatchedInsert>(
    db: DbPool,
    mut incoming: mpsc::Receiver<Write<W>>,
    slots: Arc<Semaphore>,
) {
    while let Some((batch, slot)) = next_batch(&mut incoming, &slots, W::MAX_BATCH).await {
        let db = db.clone();
        // Its own task: a request that goes away cannot interrupt a statement others wait on.
        tokio::spawn(async move {
            write::<W>(&db, batch).await;
            drop(slot);
        });
    }
}

async fn write<W: BatchedInsert>(db: &DbPool, batch: Vec<Write<W>>) {
    let (rows, replies): (Vec<W::Row>, Vec<_>) =
        batch.into_iter().map(|w| (w.question, w.reply)).unzip();
    let unavailable = |replies: Vec<oneshot::Sender<Result<(), Failure>>>, cause: String| {
        for reply in replies {
            let _ = reply.send(Err(Failure::Unavailable(cause.clone())));
        }
    };
    let mut conn = match db.get().await {
        Ok(conn) => conn,
        Err(e) => return unavailable(replies, DbError::from(e).to_string()),
    };
    if rows.len() > 1 {
        match W::insert_many(&mut conn, &rows).await.map_err(Failure::from) {
            Ok(()) => {
                for reply in replies {
                    // The receiver is gone only if its request was dropped.
                    let _ = reply.send(Ok(()));
                }
                return;
            }
            Err(Failure::Unavailable(cause)) => return unavailable(replies, cause),
            Err(e) => tracing::warn!(
                error = %e,
                rows = rows.len(),
                "a batch of {} inserts failed; writing each alone",
                W::WHAT
            ),
        }
    }
    for (row, reply) in rows.iter().zip(replies) {
        let outcome =
            W::insert_many(&mut conn, std::slice::from_ref(row)).await.map_err(Failure::from);
        let _ = reply.send(outcome);
    }
}
