use apalis::prelude::TaskSink;
use apalis_redis::{Config, ConnectionManager, RedisStorage};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use std::time::Duration;
use uuid::Uuid;

use super::announcing::AnnouncingConnection;
use super::JobKind;

/// What travels through Redis: only the id. The payload stays in the `jobs` row, so secrets
/// (password hashes) never reach Redis and a flushed Redis can be refilled from MySQL.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobMessage {
    pub job_id: Uuid,
}

#[derive(Debug, thiserror::Error)]
#[error("could not enqueue job: {0}")]
pub struct QueueError(pub(super) String);

/// One apalis-redis queue per job kind, each under an explicit namespaced name.
#[derive(Clone)]
pub struct JobQueues {
    conn: ConnectionManager,
    namespace: String,
}

// apalis-redis declares a worker dead after heartbeat × missed beats and re-enqueues its
// tasks; 10 s × 3 keeps that well inside the minute in which a stopped worker's job must
// run again (api.md §2).
pub const HEARTBEAT: Duration = Duration::from_secs(10);
pub const MISSED_HEARTBEATS: usize = 3;

/// Finished tasks forgotten per chunk, and chunks per script call (a few milliseconds).
const FORGET_CHUNK: usize = 500;
const FORGET_CHUNKS_PER_CALL: usize = 20;

static FORGET_FINISHED: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("lua/forget_finished.lua")));

impl JobQueues {
    pub fn new(conn: ConnectionManager, namespace: &str) -> Self {
        Self { conn, namespace: namespace.to_owned() }
    }

    /// `<namespace>.queue.<kind>`, with no `:`: apalis-redis announces new tasks on
    /// `tasks:<queue>:active:available` and finds the queue again by splitting on `:`.
    pub fn queue_name(&self, kind: JobKind) -> String {
        format!("{}.queue.{}", self.namespace.replace(':', "."), kind.as_str())
    }

    pub(super) fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    pub fn config(&self, kind: JobKind) -> Config {
        // apalis-redis's own events off: they are a PUBLISH at each lease and each
        // acknowledgement that nothing here listens to. Idle workers wake on the
        // announcement `push` sends (`wake::Announcements` in the worker); tasks a stopping
        // worker hands back are found at the others' next poll. (`persist_results` must
        // stay on: with it off, apalis-redis never acknowledges a task.)
        // Its leases off: the fetch already puts each task in the worker's in-flight set,
        // which is what orphan recovery reads, and the jobs row in MySQL decides who runs
        // a job. A lease was a script per fetched batch and four commands per task.
        Config::default()
            .queue(self.queue_name(kind))
            .heartbeat_interval(HEARTBEAT)
            .missed_heartbeats(MISSED_HEARTBEATS)
            .emit_events(false)
            .lock_tasks(false)
    }

    pub fn storage(&self, kind: JobKind) -> RedisStorage<JobMessage> {
        RedisStorage::new(self.conn.clone()).with_config(self.config(kind))
    }

    /// A consumer's settings: it fetches (and locks) no more tasks than it can run at once,
    /// so idle workers elsewhere get the rest.
    pub fn consumer_config(&self, kind: JobKind, concurrency: usize) -> Config {
        self.config(kind).batch_size(concurrency.max(1))
    }

    /// Drops what Redis keeps of finished tasks (their data, metadata and the done/dead
    /// sets); MySQL holds the record, so Redis stays as small as the work in flight. Each
    /// call holds Redis for one bounded script; other clients run between them.
    pub async fn vacuum(&self, kind: JobKind) -> Result<usize, QueueError> {
        let config = self.config(kind);
        let mut forgotten = 0;
        loop {
            let mut conn = self.conn.clone();
            let (now, bounded): (usize, u8) = FORGET_FINISHED
                .key(config.done_jobs_set())
                .key(config.dead_jobs_set())
                .key(config.job_data_hash())
                .key(config.job_meta_hash())
                .arg(FORGET_CHUNK)
                .arg(FORGET_CHUNKS_PER_CALL)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| QueueError(e.to_string()))?;
            forgotten += now;
            if bounded == 0 {
                return Ok(forgotten);
            }
        }
    }

    /// Queues the job for a worker and announces it on the kind's `available` channel, in
    /// one round trip. apalis-redis 1.0's push script announces only tasks it puts straight
    /// on the active list, and it puts every task in the scheduled set (its run time is
    /// clamped to "now"), so without this an idle worker would learn of the job only at its
    /// next poll.
    pub async fn push(&self, kind: JobKind, job_id: Uuid) -> Result<(), QueueError> {
        let announcing = AnnouncingConnection::new(
            self.conn.clone(),
            &self.announcement_channel(kind),
            &job_id.to_string(),
        );
        let mut storage = RedisStorage::new(announcing).with_config(self.config(kind));
        storage.push(JobMessage { job_id }).await.map_err(|e| QueueError(e.to_string()))
    }

    /// Where a new job of `kind` is announced: the channel apalis-redis's own push script
    /// would publish on, so an apalis-redis `RedisStorageFactory` would wake on it too.
    pub fn announcement_channel(&self, kind: JobKind) -> String {
        format!("tasks:{}:available", self.config(kind).active_jobs_list())
    }
}
