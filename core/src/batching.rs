//! What batched reads and batched writes share: the next batch comes off the queue once one
//! of their slots (each a pooled connection's worth of work) is free, so the items that
//! queue while every slot is busy go to the database together.

use std::sync::Arc;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

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
