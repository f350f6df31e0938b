//! Routes task events to the sockets of the user they belong to, on this instance.
//!
//! One dispatcher reads the instance's event fan-out and hands each task event, rendered
//! once in the client's wire format (which the adapter supplies), to that user's sockets only;
//! an event for a user with no socket on this instance is not rendered at all. Every socket
//! has a bounded queue: a socket whose queue is full is cut off (its queue closes with
//! `Ended::TooSlow`) instead of slowing the dispatcher or holding unbounded memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use dispatch_shared::events::{Event, TaskChange};
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

/// Messages a socket may have queued before it counts as too slow.
pub const SOCKET_QUEUE: usize = 256;

#[derive(Debug, Clone)]
pub enum StreamItem {
    /// A message for the client, already serialised.
    Message(Arc<str>),
    /// The user changed: check the credentials now.
    Recheck,
}

/// Why a socket's queue was closed by the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Open = 0,
    TooSlow = 1,
    /// This instance fell behind the event bus; events may be missing.
    Lagged = 2,
}

struct Subscriber {
    id: u64,
    queue: mpsc::Sender<StreamItem>,
    ended: Arc<AtomicU8>,
}

#[derive(Default)]
pub struct TaskHub {
    sockets: Mutex<HashMap<Uuid, Vec<Subscriber>>>,
    next_id: AtomicU64,
}

/// One socket's end: its queue, and why it ended. Dropping it unregisters the socket.
pub struct Subscription {
    hub: Arc<TaskHub>,
    user: Uuid,
    id: u64,
    pub queue: mpsc::Receiver<StreamItem>,
    ended: Arc<AtomicU8>,
}

impl Subscription {
    pub fn ended(&self) -> Ended {
        match self.ended.load(Ordering::Acquire) {
            1 => Ended::TooSlow,
            2 => Ended::Lagged,
            _ => Ended::Open,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.remove(self.user, self.id);
        metrics::gauge!("dispatch_task_stream_sockets").decrement(1);
    }
}

impl TaskHub {
    /// Builds the hub and starts its dispatcher on `events`; `render` writes a change as the
    /// sockets send it.
    pub fn spawn(
        events: &broadcast::Sender<Event>,
        render: fn(&TaskChange) -> String,
    ) -> Arc<Self> {
        let hub = Arc::new(Self::default());
        let mut receiver = events.subscribe();
        let dispatcher = Arc::downgrade(&hub);
        tokio::spawn(async move {
            loop {
                let received = receiver.recv().await;
                let Some(hub) = dispatcher.upgrade() else {
                    return;
                };
                match received {
                    Ok(Event::Task { user_id, change }) => {
                        hub.deliver(user_id, || StreamItem::Message(render(&change).into()))
                    }
                    Ok(Event::UserChanged { user_id }) => {
                        hub.deliver(user_id, || StreamItem::Recheck)
                    }
                    Ok(Event::Job(_)) => {}
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "task streams fell behind the event bus; closing them"
                        );
                        hub.end_all(Ended::Lagged);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        hub
    }

    pub fn subscribe(self: &Arc<Self>, user: Uuid) -> Subscription {
        let (sender, queue) = mpsc::channel(SOCKET_QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let ended = Arc::new(AtomicU8::new(Ended::Open as u8));
        metrics::gauge!("dispatch_task_stream_sockets").increment(1);
        self.lock().entry(user).or_default().push(Subscriber {
            id,
            queue: sender,
            ended: ended.clone(),
        });
        Subscription { hub: self.clone(), user, id, queue, ended }
    }

    /// Sockets open on this instance.
    pub fn len(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Vec<Subscriber>>> {
        // A panic while holding this lock cannot leave the map half-changed.
        self.sockets.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `item` is made only if the user has a socket here.
    fn deliver(&self, user: Uuid, item: impl FnOnce() -> StreamItem) {
        let mut sockets = self.lock();
        let Some(subscribers) = sockets.get_mut(&user) else {
            return;
        };
        let item = item();
        subscribers.retain(|s| match s.queue.try_send(item.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                s.ended.store(Ended::TooSlow as u8, Ordering::Release);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if subscribers.is_empty() {
            sockets.remove(&user);
        }
    }

    fn end_all(&self, why: Ended) {
        let mut sockets = self.lock();
        for subscriber in sockets.values().flatten() {
            subscriber.ended.store(why as u8, Ordering::Release);
        }
        sockets.clear();
    }

    fn remove(&self, user: Uuid, id: u64) {
        let mut sockets = self.lock();
        if let Some(subscribers) = sockets.get_mut(&user) {
            subscribers.retain(|s| s.id != id);
            if subscribers.is_empty() {
                sockets.remove(&user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    static RENDERED: AtomicUsize = AtomicUsize::new(0);

    fn counting_render(change: &TaskChange) -> String {
        RENDERED.fetch_add(1, Ordering::SeqCst);
        match change {
            TaskChange::Deleted(id) => id.to_string(),
            TaskChange::Created(_) | TaskChange::Updated(_) => String::new(),
        }
    }

    #[tokio::test]
    async fn an_event_is_rendered_only_for_a_user_with_a_socket_here() {
        let (events, _) = broadcast::channel(16);
        let hub = TaskHub::spawn(&events, counting_render);
        let listening = Uuid::new_v4();
        let mut socket = hub.subscribe(listening);
        let deleted = Uuid::new_v4();
        let elsewhere =
            Event::Task { user_id: Uuid::new_v4(), change: TaskChange::Deleted(Uuid::new_v4()) };
        let here = Event::Task { user_id: listening, change: TaskChange::Deleted(deleted) };
        assert!(events.send(elsewhere).is_ok() && events.send(here).is_ok());

        // One dispatcher handles the events in order: when the second arrives, the first is done.
        let received =
            tokio::time::timeout(std::time::Duration::from_secs(10), socket.queue.recv()).await;
        match received {
            Ok(Some(StreamItem::Message(text))) => assert_eq!(&*text, deleted.to_string()),
            other => panic!("expected the second event's message, got {other:?}"),
        }
        assert_eq!(RENDERED.load(Ordering::SeqCst), 1);
    }
}
