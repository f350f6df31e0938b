//! The live worker instances, as each reports itself to Redis: one key per instance holding
//! its description, rewritten every `BEAT` and expiring after `EXPIRES`. A worker that stops
//! with SIGTERM removes its key; one that dies without a word is gone when the key expires.
//! Nothing needs cleaning up.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};

/// How often a worker rewrites its key.
pub const BEAT: Duration = Duration::from_secs(5);
/// How long a key outlives its last beat: a dead worker leaves the list within this.
pub const EXPIRES: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkerBeat {
    pub instance: String,
    pub kinds: Vec<String>,
    /// Jobs of each kind it runs at once.
    pub concurrency: BTreeMap<String, usize>,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub jobs_in_hand: u64,
}

fn key(namespace: &str, instance: &str) -> String {
    format!("{namespace}:workers:{instance}")
}

/// Writes `beat` with its expiry.
pub async fn report(
    conn: &ConnectionManager,
    namespace: &str,
    beat: &WorkerBeat,
) -> redis::RedisResult<()> {
    let mut conn = conn.clone();
    let value = serde_json::to_string(beat).map_err(|e| {
        redis::RedisError::from((redis::ErrorKind::Io, "worker beat", e.to_string()))
    })?;
    redis::cmd("SET")
        .arg(key(namespace, &beat.instance))
        .arg(value)
        .arg("PX")
        .arg(EXPIRES.as_millis() as u64)
        .query_async(&mut conn)
        .await
}

/// Removes an instance at once (it is stopping).
pub async fn leave(
    conn: &ConnectionManager,
    namespace: &str,
    instance: &str,
) -> redis::RedisResult<()> {
    let mut conn = conn.clone();
    redis::cmd("DEL").arg(key(namespace, instance)).query_async(&mut conn).await
}

/// Every live instance, by name.
pub async fn live(
    conn: &ConnectionManager,
    namespace: &str,
) -> redis::RedisResult<Vec<WorkerBeat>> {
    let mut conn = conn.clone();
    let pattern = key(namespace, "*");
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(&mut conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query_async(&mut conn).await?;
    let mut beats: Vec<WorkerBeat> =
        values.into_iter().flatten().filter_map(|v| serde_json::from_str(&v).ok()).collect();
    beats.sort_by(|a, b| a.instance.cmp(&b.instance));
    Ok(beats)
}
