//! Reads whose answers many requests can share (a page of a list): a read that arrives while
//! an equal one waits for a connection joins it, and both get the one answer. Only a read
//! that has not started is joined, so every request is answered by a query that began after
//! it arrived: it sees every write committed before it was made.
//!
//! Reads with different keys run side by side, each on its own pooled connection, at most
//! `in_flight` at a time; the rest wait (and gather equal reads) in arrival order.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;

use diesel::QueryResult;
use diesel_async::AsyncMysqlConnection;
use dispatch_shared::db::{DbError, DbPool};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use crate::batching::{Asked, Batcher};
use crate::Failure;

/// One kind of read whose answer depends only on its key.
pub trait SharedRead: Send + Sync + 'static {
    type Key: Clone + Eq + Hash + Send + Sync + 'static;
    type Answer: Clone + Send + 'static;
    /// What the log calls these reads.
    const WHAT: &'static str;

    fn read(
        conn: &mut AsyncMysqlConnection,
        key: &Self::Key,
    ) -> impl Future<Output = QueryResult<Self::Answer>> + Send;
}

type Reply<A> = oneshot::Sender<Result<A, ReadError>>;
/// Everyone waiting for one read's answer.
type Waiters<A> = Vec<Reply<A>>;

type Request<R> = Asked<<R as SharedRead>::Key, Result<<R as SharedRead>::Answer, ReadError>>;

/// What each request of a failed read is told: the cause is logged once, with the read.
#[derive(Debug, Clone, Copy)]
enum ReadError {
    Unavailable,
    Failed,
}

#[derive(Clone)]
pub struct SharedReads<R: SharedRead> {
    queue: Batcher<R::Key, Result<R::Answer, ReadError>>,
}

impl<R: SharedRead> SharedReads<R> {
    /// Reads through `db`, at most `in_flight` at once.
    pub fn spawn(db: DbPool, in_flight: usize) -> Self {
        let name = format!("{} reader", R::WHAT);
        Self { queue: Batcher::spawn(name, db, in_flight, dispatch::<R>) }
    }

    pub async fn read(&self, key: R::Key) -> Result<R::Answer, Failure> {
        match self.queue.ask(key).await? {
            Ok(answer) => Ok(answer),
            Err(ReadError::Unavailable) => Err(Failure::Unavailable("database".into())),
            Err(ReadError::Failed) => Err(Failure::internal(anyhow::anyhow!(
                "a {} read failed (logged with its cause)",
                R::WHAT
            ))),
        }
    }
}

/// The reads not yet started: each key once, in arrival order, with everyone waiting for it.
struct Waiting<R: SharedRead> {
    order: VecDeque<R::Key>,
    replies: HashMap<R::Key, Waiters<R::Answer>>,
}

impl<R: SharedRead> Waiting<R> {
    fn add(&mut self, request: Request<R>) {
        match self.replies.get_mut(&request.question) {
            Some(replies) => replies.push(request.reply),
            None => {
                self.order.push_back(request.question.clone());
                self.replies.insert(request.question, vec![request.reply]);
            }
        }
    }

    fn next(&mut self) -> Option<(R::Key, Waiters<R::Answer>)> {
        let key = self.order.pop_front()?;
        let replies = self.replies.remove(&key).unwrap_or_default();
        Some((key, replies))
    }
}

async fn dispatch<R: SharedRead>(
    db: DbPool,
    mut incoming: mpsc::Receiver<Request<R>>,
    slots: Arc<Semaphore>,
) {
    let mut waiting = Waiting::<R> { order: VecDeque::new(), replies: HashMap::new() };
    loop {
        if waiting.order.is_empty() {
            match incoming.recv().await {
                Some(request) => waiting.add(request),
                None => return,
            }
        }
        // While every slot is busy, more reads queue up; equal ones then join.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        while let Ok(request) = incoming.try_recv() {
            waiting.add(request);
        }
        if let Some((key, replies)) = waiting.next() {
            tokio::spawn(answer::<R>(db.clone(), key, replies, slot));
        }
    }
}

/// Runs in its own task, so a request that goes away cannot interrupt the statement.
async fn answer<R: SharedRead>(
    db: DbPool,
    key: R::Key,
    replies: Waiters<R::Answer>,
    _slot: OwnedSemaphorePermit,
) {
    let answer = match read::<R>(&db, &key).await {
        Ok(answer) => Ok(answer),
        Err(e) => {
            tracing::error!(error = %e, requests = replies.len(), "a {} read failed", R::WHAT);
            // Classified as any database error is: a lost connection is a 503, not a 500.
            Err(match Failure::from(e) {
                Failure::Unavailable(_) => ReadError::Unavailable,
                _ => ReadError::Failed,
            })
        }
    };
    for reply in replies {
        // The receiver is gone only if its request was dropped.
        let _ = reply.send(answer.clone());
    }
}

async fn read<R: SharedRead>(db: &DbPool, key: &R::Key) -> Result<R::Answer, DbError> {
    let mut conn = db.get().await?;
    Ok(R::read(&mut conn, key).await?)
}
