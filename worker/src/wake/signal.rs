//! A queue's announcement signal: counted, so a request can tell whether one arrived while
//! it was in flight, and a stream, so apalis's `PollWith` wakes the worker on it.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::task::AtomicWaker;
use futures::Stream;

#[derive(Debug, Default)]
pub struct QueueSignal {
    announcements: AtomicU64,
    pending: AtomicBool,
    waker: AtomicWaker,
}

impl QueueSignal {
    /// A message said a job was queued.
    pub fn announce(&self) {
        self.announcements.fetch_add(1, Ordering::AcqRel);
        self.wake();
    }

    /// Wakes the worker again for announcements it has already had: not counted, so a
    /// request in flight now does not repeat it.
    pub fn reannounce(&self) {
        self.wake();
    }

    /// How many messages have arrived; compared before and after a request.
    pub fn announcements(&self) -> u64 {
        self.announcements.load(Ordering::Acquire)
    }

    fn wake(&self) {
        self.pending.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// Yields once per wake-up that the worker has not yet been polled for.
#[derive(Debug, Clone)]
pub struct Announced(Arc<QueueSignal>);

impl Announced {
    pub fn new(signal: Arc<QueueSignal>) -> Self {
        Self(signal)
    }
}

impl Stream for Announced {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let signal = &self.0;
        // Registered on every poll, also the one that yields: apalis's `PollWith` polls this
        // once per poll of the storage and never again until `Pending`, and a wake takes the
        // registered waker. A yield without registering (as apalis-redis's own `Pubsub`
        // does) leaves no waker, and every later message goes unheard.
        signal.waker.register(cx.waker());
        if signal.pending.swap(false, Ordering::AcqRel) {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}
