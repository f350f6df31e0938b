//! A queue's announcement signal: counted, so a request can tell whether one arrived while
//! it was in flight, and a stream, so apalis's `PollWith` wakes the worker on it.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::AtomicWaker;
use futures::Stream;
use tokio::time::{Instant, Interval, MissedTickBehavior};

const NO_FETCH_YET: u64 = u64::MAX;

#[derive(Debug)]
pub struct QueueSignal {
    announcements: AtomicU64,
    pending: AtomicBool,
    waker: AtomicWaker,
    /// The announcement count when the last fetch that went to Redis started.
    last_fetch: AtomicU64,
    /// Whether that fetch may have left tasks in the queue: it came back full, failed, or
    /// has not come back.
    left_some: AtomicBool,
}

impl Default for QueueSignal {
    fn default() -> Self {
        Self {
            announcements: AtomicU64::new(0),
            pending: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            last_fetch: AtomicU64::new(NO_FETCH_YET),
            left_some: AtomicBool::new(true),
        }
    }
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

    /// Whether a fetch starting now, with `seen` announcements counted, can find a task: one
    /// was announced since the last fetch started, or that fetch may have left some. Every
    /// task is pushed before it is announced, so a fetch that started after the last
    /// announcement and came back with room to spare saw every task there was.
    pub fn fetch_may_find_work(&self, seen: u64) -> bool {
        self.left_some.load(Ordering::Acquire) || self.last_fetch.load(Ordering::Acquire) != seen
    }

    /// A fetch goes to Redis, with `seen` announcements counted; until it has come back it
    /// may leave tasks behind. apalis sends one fetch at a time per queue.
    pub fn fetch_started(&self, seen: u64) {
        self.last_fetch.store(seen, Ordering::Release);
        self.left_some.store(true, Ordering::Release);
    }

    /// The fetch came back; `took_all` if it had room for more than it found.
    pub fn fetch_ended(&self, took_all: bool) {
        self.left_some.store(!took_all, Ordering::Release);
    }
}

/// Yields once per wake-up that the worker has not yet been polled for, and announces a
/// possible task every `every`: a task no message announced (one whose message was lost, or
/// that apalis-redis took back from a worker that died) is fetched at the next tick.
#[derive(Debug)]
pub struct Announced {
    signal: Arc<QueueSignal>,
    every: Duration,
    ticks: Option<Interval>,
}

impl Announced {
    pub fn new(signal: Arc<QueueSignal>, every: Duration) -> Self {
        Self { signal, every, ticks: None }
    }

    fn ticked(&mut self, cx: &mut Context<'_>) -> bool {
        let every = self.every;
        let ticks = self.ticks.get_or_insert_with(|| {
            let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            ticks
        });
        let mut ticked = false;
        while ticks.poll_tick(cx).is_ready() {
            ticked = true;
        }
        ticked
    }
}

impl Clone for Announced {
    /// The copy ticks on its own schedule, from its first poll.
    fn clone(&self) -> Self {
        Self::new(self.signal.clone(), self.every)
    }
}

impl Stream for Announced {
    type Item = ();

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if self.ticked(cx) {
            self.signal.announce();
        }
        let signal = &self.signal;
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
