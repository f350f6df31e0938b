//! Waking idle workers the moment a job is queued. apalis-redis's `RedisStorageFactory`
//! subscribes (RESP3 push messages, one connection) to the `available` messages its push
//! script publishes and wakes the worker of that queue; a slow interval poll
//! (`DISPATCH_WORKER_POLL`) stays beside it for what no message announces (one missed while
//! resubscribing, say).

use apalis_redis::factory::RedisStorageFactory;
use redis::ProtocolVersion;
use tokio_util::sync::CancellationToken;

/// The factory's connection lives as long as Redis does: after an outage the workers stop
/// and are rebuilt with a new factory. Waits (and retries) while Redis is down; `None` when
/// `stop` fires first.
pub async fn factory(
    client: &redis::Client,
    stop: &CancellationToken,
) -> anyhow::Result<Option<RedisStorageFactory>> {
    let info = client.get_connection_info().clone();
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    let resp3 = redis::Client::open(info.set_redis_settings(settings))?;
    let subscribed = crate::patience::until_ok("Redis (job wake-up subscription)", || {
        RedisStorageFactory::new(resp3.clone())
    });
    tokio::select! {
        factory = subscribed => Ok(Some(factory)),
        _ = stop.cancelled() => Ok(None),
    }
}
