use apalis::prelude::TaskSink;
use apalis_redis::{Config, ConnectionManager, RedisStorage};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

use super::JobKind;

/// What travels through Redis: only the id. The payload stays in the `jobs` row, so secrets
/// (password hashes) never reach Redis and a flushed Redis can be refilled from MySQL.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobMessage {
    pub job_id: Uuid,
}

#[derive(Debug, thiserror::Error)]
#[error("could not enqueue job: {0}")]
pub struct QueueError(String);

/// One apalis-redis queue per job kind, each under an explicit namespaced name.
#[derive(Clone)]
pub struct JobQueues {
    conn: ConnectionManager,
    namespace: String,
}

// apalis-redis declares a worker dead after heartbeat × missed beats and re-enqueues its
// tasks; 10 s × 3 keeps that well inside DESIGN's 60 s.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
pub const MISSED_HEARTBEATS: usize = 3;

impl JobQueues {
    pub fn new(conn: ConnectionManager, namespace: &str) -> Self {
        Self {
            conn,
            namespace: namespace.to_owned(),
        }
    }

    pub fn queue_name(&self, kind: JobKind) -> String {
        format!("{}:queue:{}", self.namespace, kind.as_str())
    }

    pub fn config(&self, kind: JobKind) -> Config {
        Config::default()
            .queue(self.queue_name(kind))
            .heartbeat_interval(HEARTBEAT)
            .missed_heartbeats(MISSED_HEARTBEATS)
    }

    pub fn storage(&self, kind: JobKind) -> RedisStorage<JobMessage> {
        RedisStorage::new(self.conn.clone()).with_config(self.config(kind))
    }

    pub async fn push(&self, kind: JobKind, job_id: Uuid) -> Result<(), QueueError> {
        let mut storage = self.storage(kind);
        storage
            .push(JobMessage { job_id })
            .await
            .map_err(|e| QueueError(e.to_string()))
    }
}
