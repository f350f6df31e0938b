//! What batched reads and batched writes share: the next batch comes off the queue once one
//! of their slots (each a pooled connection's worth of work) is free, so the items that
//! queue while every slot is busy go to the database together.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use dispatch_shared::db::DbPool;

use crate::Failure;

/// Requests waiting for their turn; beyond it a request waits to be queued.
const QUEUE: usize = 1024;

/// A request on a batching queue, with the channel its answer goes back on.
pub struct Asked<Q, A> {
    pub question: Q,
    pub reply: oneshot::Sender<A>,
}

/// What answers a batching queue: takes batches off it through `db`, each batch holding one
/// of the slots.
pub type Dispatch<Q, A, F> = fn(DbPool, mpsc::Receiver<Asked<Q, A>>, Arc<Semaphore>) -> F;

/// The handle of a batching service: requests go onto its queue, and the task `spawn`
/// starts answers them in batches, each batch holding one of `in_flight` slots.
pub struct Batcher<Q, A> {
    queue: mpsc::Sender<Asked<Q, A>>,
    /// What the service is called in errors and logs ("task page reader").
    name: String,
}

impl<Q, A> Clone for Batcher<Q, A> {
    fn clone(&self) -> Self {
        Self { queue: self.queue.clone(), name: self.name.clone() }
    }
}

impl<Q: Send + 'static, A: Send + 'static> Batcher<Q, A> {
    pub fn spawn<F>(name: String, db: DbPool, in_flight: usize, dispatch: Dispatch<Q, A, F>) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (queue, incoming) = mpsc::channel(QUEUE);
        let slots = Arc::new(Semaphore::new(in_flight.max(1)));
        tokio::spawn(dispatch(db, incoming, slots));
        Self { queue, name }
    }

    /// Queues `question` and waits for its answer.
    pub async fn ask(&self, question: Q) -> Result<A, Failure> {
        let (reply, answer) = oneshot::channel();
        let lost = || Failure::Unavailable(format!("the {} stopped", self.name));
        self.queue.send(Asked { question, reply }).await.map_err(|_| lost())?;
        answer.await.map_err(|_| lost())
    }
}

/// Waits for an item, then for a free slot, then takes whatever else has queued, up to
/// `max` in all. `None` once the queue or the slots are closed.
pub async fn next_batch<T>(
    incoming: &mut mpsc::Receiver<T>,
    slots: &Arc<Semaphore>,
    max: usize,
) -> Option<(Vec<T>, OwnedSemaphorePermit)> {
    let first = incoming.recv().await?;
    let slot = slots.clone().acquire_owned().await.ok()?;
    let mut batch = vec![first];
    while batch.len() < max {
        match incoming.try_recv() {
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
    Some((batch, slot))
}
