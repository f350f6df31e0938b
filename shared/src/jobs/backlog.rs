//! Keeps a queue's backlog fetchable.
//!
//! apalis-redis 1.0 puts every pushed task in its queue's scheduled set (its run time is
//! clamped to "now"), and its fetch script moves all due tasks to the active list with one
//! Lua `unpack`, which fails beyond about 8,000 values (Lua's C stack limit). A queue that
//! grows past that while its workers are busy or away can then never be fetched again: every
//! poll fails. Workers therefore move due tasks over in bounded chunks whenever the set is
//! larger than the fetch script can take, in arrival order, as the fetch script would.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{JobKind, JobQueues, QueueError};

/// Left to apalis's own fetch; far below its limit, so pushes between two promotions cannot
/// take the set past it.
const LEFT_TO_FETCH: usize = 1000;
const CHUNK: usize = 1000;
/// Chunks per call: Redis is held for one call, a few milliseconds.
const CHUNKS_PER_CALL: usize = 20;

static PROMOTE: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("lua/promote_backlog.lua")));

impl JobQueues {
    /// Moves due tasks of `kind` to its active list while its scheduled set is larger than
    /// the fetch script can take; returns how many moved. Each call holds Redis for one
    /// bounded script; other clients run between them.
    pub async fn promote_backlog(&self, kind: JobKind) -> Result<usize, QueueError> {
        let mut moved = 0;
        loop {
            let now = self.promote_some(kind).await?;
            moved += now;
            if now < CHUNK * CHUNKS_PER_CALL {
                return Ok(moved);
            }
        }
    }

    async fn promote_some(&self, kind: JobKind) -> Result<usize, QueueError> {
        let config = self.config(kind);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let mut conn = self.connection();
        PROMOTE
            .key(config.scheduled_jobs_set())
            .key(config.active_jobs_list())
            .key(config.signal_list())
            .arg(now)
            .arg(LEFT_TO_FETCH)
            .arg(CHUNK)
            .arg(CHUNKS_PER_CALL)
            .invoke_async::<usize>(&mut conn)
            .await
            .map_err(|e| QueueError(e.to_string()))
    }
}
