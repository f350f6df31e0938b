//! Point reads by key, batched: the reads that arrive while earlier ones are at the database
//! go to it together, as one statement. Under load, that turns many point selects (each a
//! round trip, a statement execution and two wake-ups of MariaDB and the API) into a few;
//! a read alone goes at once.

use std::future::Future;
use std::sync::Arc;

use diesel::QueryResult;
use diesel_async::AsyncMysqlConnection;
use dispatch_shared::db::{DbError, DbPool};
use dispatch_shared::repo::point_reads;
use tokio::sync::{mpsc, Semaphore};

use crate::batching::{next_batch, Asked, Batcher};
use crate::Failure;

/// The most reads one batch carries: what one statement looks up.
const MAX_BATCH: usize = point_reads::WIDTH;
/// One kind of row read by primary key.
pub trait PointRead: Send + Sync + 'static {
    /// What a request asks for: the row's id, and whatever else scopes the answer.
    type Key: Send + 'static;
    type Row: Clone + Send + 'static;
    /// What the log calls these reads.
    const WHAT: &'static str;

    /// The row id the key names, as stored.
    fn row_id(key: &Self::Key) -> String;

    /// The rows with these ids, in any order (ids that match nothing are left out).
    fn find_many(
        conn: &mut AsyncMysqlConnection,
        ids: &[String],
    ) -> impl Future<Output = QueryResult<Vec<Self::Row>>> + Send;

    /// Whether `row` answers `key` (its id and its scope).
    fn answers(row: &Self::Row, key: &Self::Key) -> bool;
}

/// Whether a stored id (text) is `id`, without formatting `id` for each row compared.
type Lookup<R> = Asked<<R as PointRead>::Key, Result<Option<<R as PointRead>::Row>, BatchError>>;

/// What each read of a failed batch is told: the cause is logged once, with the batch.
#[derive(Debug, Clone, Copy)]
enum BatchError {
    Unavailable,
    Failed,
}

#[derive(Clone)]
pub struct BatchedReads<R: PointRead> {
    queue: Batcher<R::Key, Result<Option<R::Row>, BatchError>>,
}

impl<R: PointRead> BatchedReads<R> {
    /// Reads through `db`, whose pool holds `pool_size` connections.
    pub fn spawn(db: DbPool, pool_size: u32) -> Self {
        let in_flight = super::in_flight(pool_size);
        let name = format!("{} reader", R::WHAT);
        Self { queue: Batcher::spawn(name, db, in_flight, dispatch::<R>) }
    }

    /// The row `key` names, if there is one.
    pub async fn find(&self, key: R::Key) -> Result<Option<R::Row>, Failure> {
        match self.queue.ask(key).await? {
            Ok(row) => Ok(row),
            Err(BatchError::Unavailable) => Err(Failure::Unavailable("database".into())),
            Err(BatchError::Failed) => Err(Failure::internal(anyhow::anyhow!(
                "a batch of {} reads failed (logged with its cause)",
                R::WHAT
            ))),
        }
    }
}

async fn dispatch<R: PointRead>(
    db: DbPool,
    mut incoming: mpsc::Receiver<Lookup<R>>,
    slots: Arc<Semaphore>,
) {
    while let Some((batch, slot)) = next_batch(&mut incoming, &slots, MAX_BATCH).await {
        let db = db.clone();
        tokio::spawn(async move {
            answer::<R>(&db, batch).await;
            drop(slot);
        });
    }
}

async fn answer<R: PointRead>(db: &DbPool, batch: Vec<Lookup<R>>) {
    let ids: Vec<String> = batch.iter().map(|l| R::row_id(&l.question)).collect();
    let rows = match read::<R>(db, &ids).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, reads = batch.len(), "a batch of {} reads failed", R::WHAT);
            // Classified as any database error is: a lost connection is a 503, not a 500.
            let reply = match Failure::from(e) {
                Failure::Unavailable(_) => BatchError::Unavailable,
                _ => BatchError::Failed,
            };
            for lookup in batch {
                let _ = lookup.reply.send(Err(reply));
            }
            return;
        }
    };
    for lookup in batch {
        let row = rows.iter().find(|row| R::answers(row, &lookup.question)).cloned();
        // The receiver is gone only if its request was dropped.
        let _ = lookup.reply.send(Ok(row));
    }
}

async fn read<R: PointRead>(db: &DbPool, ids: &[String]) -> Result<Vec<R::Row>, DbError> {
    let mut conn = db.get().await?;
    Ok(R::find_many(&mut conn, ids).await?)
}
