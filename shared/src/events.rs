//! Live events over Redis pub/sub: workers and API instances publish, every API instance
//! subscribes once and fans the events out to its WebSocket clients through a bounded
//! broadcast channel.

use std::time::Duration;

use futures::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::models::JobView;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "topic", content = "data", rename_all = "snake_case")]
pub enum Event {
    Job(JobView),
    /// A user was changed or deleted: every instance drops its cached copy.
    UserChanged {
        user_id: Uuid,
    },
    /// A change to one user's tasks; `body` is what that user's stream receives.
    Task {
        user_id: Uuid,
        body: serde_json::Value,
    },
}

pub fn channel(namespace: &str) -> String {
    format!("{namespace}:events")
}

#[derive(Clone)]
pub struct EventPublisher {
    conn: ConnectionManager,
    channel: String,
}

impl EventPublisher {
    pub fn new(conn: ConnectionManager, namespace: &str) -> Self {
        Self {
            conn,
            channel: channel(namespace),
        }
    }

    /// Best effort: subscribers also re-read MySQL, so a lost event delays, never loses, news.
    pub async fn publish(&self, event: &Event) {
        let payload = match serde_json::to_string(event) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "event could not be serialised");
                return;
            }
        };
        let mut conn = self.conn.clone();
        let result: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(payload)
            .query_async(&mut conn)
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "event not published");
        }
    }
}

/// Subscribes in the background, reconnecting after Redis restarts, and returns the local
/// fan-out sender (subscribe to it for a receiver).
pub fn spawn_subscriber(client: redis::Client, namespace: &str) -> broadcast::Sender<Event> {
    let (tx, _) = broadcast::channel(1024);
    let sender = tx.clone();
    let channel = channel(namespace);
    tokio::spawn(async move {
        loop {
            match run_subscription(&client, &channel, &sender).await {
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
            // No receivers is normal when no client is connected.
            Ok(event) => {
                let _ = sender.send(event);
            }
            Err(e) => tracing::warn!(error = %e, "ignoring malformed event"),
        }
    }
    Ok(())
}
