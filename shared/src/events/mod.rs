//! Live events over Redis pub/sub: workers and API instances publish, every API instance
//! subscribes once and fans the events out to its WebSocket clients through a bounded
//! broadcast channel. A job's events go to that job's followers alone (`JobFollowers`).

mod job_followers;

pub use job_followers::{FollowedJob, Heard, JobFollowers};

use std::time::Duration;

use futures::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot};
use uuid::Uuid;

use crate::models::{JobView, TaskView};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "topic", content = "data", rename_all = "snake_case")]
pub enum Event {
    Job(JobView),
    /// A user was changed or deleted: every instance drops its cached copy.
    UserChanged {
        user_id: Uuid,
    },
    /// A change to one user's tasks, for that user's task streams.
    Task {
        user_id: Uuid,
        change: TaskChange,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskChange {
    Created(TaskView),
    Updated(TaskView),
    Deleted(Uuid),
}

pub fn channel(namespace: &str) -> String {
    format!("{namespace}:events")
}

/// How many events may wait for Redis; past that, background events are dropped (subscribers
/// re-read MySQL, so a lost event delays news, never loses it).
const PUBLISH_QUEUE: usize = 1024;
/// Events sent to Redis in one pipeline.
const PUBLISH_BATCH: usize = 64;

struct Outgoing {
    payload: String,
    sent: Option<oneshot::Sender<()>>,
}

/// Publishes through one background task, in the order the events were handed over: a
/// job's `running` cannot overtake its `succeeded`, and a caller that does not need to know
/// when Redis has the event does not wait for it.
#[derive(Clone)]
pub struct EventPublisher {
    queue: mpsc::Sender<Outgoing>,
}

impl EventPublisher {
    /// Spawns the sending task; it ends when the last clone of the publisher is dropped.
    pub fn new(conn: ConnectionManager, namespace: &str) -> Self {
        let (queue, outgoing) = mpsc::channel(PUBLISH_QUEUE);
        tokio::spawn(send_in_order(conn, channel(namespace), outgoing));
        Self { queue }
    }

    /// Best effort, and returns once Redis has taken the event (or failed to).
    pub async fn publish(&self, event: &Event) {
        let Some(payload) = serialise(event) else {
            return;
        };
        let (sent, taken) = oneshot::channel();
        let outgoing = Outgoing { payload, sent: Some(sent) };
        if self.queue.send(outgoing).await.is_ok() {
            let _ = taken.await;
        }
    }

    /// Best effort, and returns at once: the event goes out after every event handed over
    /// before it. A full queue (Redis far behind or away) drops it.
    pub fn publish_in_background(&self, event: &Event) {
        if let Some(payload) = serialise(event) {
            self.publish_message_in_background(payload);
        }
    }

    /// `publish_in_background` for an event already made its message (`Event::message`).
    pub fn publish_message_in_background(&self, payload: String) {
        let outgoing = Outgoing { payload, sent: None };
        if let Err(e) = self.queue.try_send(outgoing) {
            tracing::warn!(error = %e, "event not published");
        }
    }
}

impl Event {
    /// What is published on the events channel for this event.
    pub fn message(&self) -> Option<String> {
        serialise(self)
    }
}

fn serialise(event: &Event) -> Option<String> {
    serde_json::to_string(event)
        .map_err(|e| tracing::error!(error = %e, "event could not be serialised"))
        .ok()
}

async fn send_in_order(
    mut conn: ConnectionManager,
    channel: String,
    mut outgoing: mpsc::Receiver<Outgoing>,
) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    while outgoing.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for event in &batch {
            pipe.cmd("PUBLISH").arg(&channel).arg(&event.payload).ignore();
        }
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(error = %e, events = batch.len(), "events not published");
        }
        for event in batch.drain(..) {
            if let Some(sent) = event.sent {
                let _ = sent.send(());
            }
        }
    }
}

/// Subscribes in the background, reconnecting after Redis restarts, and returns the local
/// fan-out sender (subscribe to it for a receiver) of every event but the jobs', which go to
/// `jobs`.
pub fn spawn_subscriber(
    client: redis::Client,
    namespace: &str,
    jobs: JobFollowers,
) -> broadcast::Sender<Event> {
    let (tx, _) = broadcast::channel(1024);
    let sender = tx.clone();
    let channel = channel(namespace);
    tokio::spawn(async move {
        loop {
            match run_subscription(&client, &channel, &sender, &jobs).await {
                Ok(()) => tracing::warn!("event subscription ended; reconnecting"),
                Err(e) => tracing::warn!(error = %e, "event subscription failed; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    tx
}

async fn run_subscription(
    client: &redis::Client,
    channel: &str,
    sender: &broadcast::Sender<Event>,
    jobs: &JobFollowers,
) -> redis::RedisResult<()> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    tracing::debug!(channel, "subscribed to events");
    let mut messages = pubsub.on_message();
    while let Some(msg) = messages.next().await {
        let payload: String = match msg.get_payload() {
            Ok(p) => p,
            Err(_) => continue,
        };
        match serde_json::from_str::<Event>(&payload) {
            Ok(Event::Job(job)) => jobs.deliver(job),
            // No receivers is normal when no client is connected.
            Ok(event) => {
                let _ = sender.send(event);
            }
            Err(e) => tracing::warn!(error = %e, "ignoring malformed event"),
        }
    }
    Ok(())
}
