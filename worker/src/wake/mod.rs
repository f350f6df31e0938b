//! Waking idle workers the moment a job is queued, without losing a wake-up.
//!
//! One RESP3 connection subscribes to each handled kind's `available` channel (published by
//! `JobQueues::push`) and wakes that kind's worker, as apalis-redis's `RedisStorageFactory`
//! does. The factory loses wake-ups under load, in two ways, and fixing them needs its stream
//! and its connection, which it does not expose:
//! - its stream leaves no waker registered after a poll that yields (apalis's `PollWith`
//!   polls it once per poll of the storage), so later messages wake nobody; `Announced`
//!   registers on every poll;
//! - a message consumed while a fetch is on its way, whose script ran before the job was
//!   pushed, is followed by an empty result and a parked worker; here each storage request
//!   that was in flight when a message arrived wakes the worker again when it completes
//!   (see `watched`), so the fetch that follows is one that can see the job.
//!
//! A slow tick (`DISPATCH_WORKER_POLL`) counts as an announcement, for what no message
//! announces (one missed while resubscribing, say). The storage's connection answers a
//! fetch that cannot find anything without going to Redis (see `watched`).

mod signal;
mod watched;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use apalis_core::backend::ext::poll_strategy::{PollWith, StreamStrategy};
use apalis_redis::{Config, RedisStorage};
use dispatch_shared::jobs::JobMessage;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ProtocolVersion, PushInfo, PushKind, Value};
use tokio_util::sync::CancellationToken;

use crate::acked_events::AckedEvents;

pub use signal::{Announced, QueueSignal};
pub use watched::WatchedConnection;

/// A kind's queue as its worker polls it: woken by the kind's announcements.
pub type AnnouncedStorage =
    PollWith<RedisStorage<JobMessage, WatchedConnection>, StreamStrategy<Announced>>;

/// The subscription, and each subscribed channel's signal.
pub struct Announcements {
    conn: MultiplexedConnection,
    signals: Arc<HashMap<String, Arc<QueueSignal>>>,
}

impl Announcements {
    /// The connection lives as long as Redis does: after an outage the workers stop and are
    /// rebuilt with a new subscription. Waits (and retries) while Redis is down; `None` when
    /// `stop` fires first.
    pub async fn subscribe(
        client: &redis::Client,
        channels: Vec<String>,
        stop: &CancellationToken,
    ) -> anyhow::Result<Option<Self>> {
        let info = client.get_connection_info().clone();
        let settings = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
        let resp3 = redis::Client::open(info.set_redis_settings(settings))?;
        let signals: Arc<HashMap<String, Arc<QueueSignal>>> = Arc::new(
            channels
                .into_iter()
                .map(|channel| (channel, Arc::new(QueueSignal::default())))
                .collect(),
        );
        let subscribed = crate::patience::until_ok("Redis (job announcements)", || {
            connect(&resp3, signals.clone())
        });
        tokio::select! {
            conn = subscribed => Ok(Some(Self { conn, signals })),
            _ = stop.cancelled() => Ok(None),
        }
    }

    /// What announcements on `channel` raise; `None` unless subscribed to it.
    pub fn signal(&self, channel: &str) -> Option<Arc<QueueSignal>> {
        self.signals.get(channel).cloned()
    }

    /// The queue `config` names, woken by announcements on `channel`, and fetched from at
    /// least once per `poll` for tasks no message announced. Its acknowledgements carry the
    /// events `acked` holds for their tasks.
    pub fn storage(
        &self,
        channel: &str,
        config: Config,
        poll: Duration,
        acked: Arc<AckedEvents>,
    ) -> anyhow::Result<AnnouncedStorage> {
        let signal =
            self.signal(channel).ok_or_else(|| anyhow::anyhow!("not subscribed to {channel}"))?;
        let conn = WatchedConnection::new(self.conn.clone(), signal.clone(), &config)
            .sending(acked, &config);
        let storage = RedisStorage::new(conn).with_config(config);
        Ok(PollWith::new(storage, StreamStrategy::new(Announced::new(signal, poll))))
    }
}

async fn connect(
    client: &redis::Client,
    signals: Arc<HashMap<String, Arc<QueueSignal>>>,
) -> redis::RedisResult<MultiplexedConnection> {
    let on_push = signals.clone();
    let config = AsyncConnectionConfig::new().set_push_sender(move |push: PushInfo| {
        if let Some(signal) = announced_channel(&push).and_then(|c| on_push.get(c)) {
            signal.announce();
        }
        Ok::<(), redis::aio::SendError>(())
    });
    let mut conn = client.get_multiplexed_async_connection_with_config(&config).await?;
    conn.subscribe(signals.keys().collect::<Vec<_>>()).await?;
    Ok(conn)
}

/// The channel of a published message; `None` for every other push (subscription replies).
fn announced_channel(push: &PushInfo) -> Option<&str> {
    if push.kind != PushKind::Message {
        return None;
    }
    match push.data.first() {
        Some(Value::BulkString(channel)) => std::str::from_utf8(channel).ok(),
        _ => None,
    }
}
