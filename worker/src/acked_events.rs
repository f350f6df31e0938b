//! A run's outcome event, sent to Redis in the same write as apalis's acknowledgement of its
//! task.
//!
//! A job that runs in one transaction (`crate::single_commit`) has one event to publish, its
//! outcome, and apalis-redis acknowledges its task right after, with a script on the queue's
//! connection. Sent apart, the two are two round trips, each a wake-up of Redis and of the
//! worker. Instead the run holds its event under its task's id, and the queue's connection
//! (`wake::WatchedConnection`) sends it behind the acknowledgement that names the task, in
//! one pipeline. The event still goes out only after the job's commit, since the task is
//! acknowledged once its run has returned.
//!
//! An event whose acknowledgement has not come within the patience (apalis stopping, a
//! failed acknowledgement) goes out through the event publisher instead, as does one whose
//! pipeline failed. Only a run's last event is held, so the two ways never reorder a job's
//! events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use apalis::prelude::TaskId;
use apalis_redis::Config;
use dispatch_shared::events::{self, Event, EventPublisher};
use redis::{Cmd, Pipeline};

use crate::script_call::script_call;
use tokio::sync::Notify;

/// How long an event waits for its task's acknowledgement. The acknowledgement follows the
/// run's return within the same worker's next poll; far longer means apalis will not send it.
pub const ACK_PATIENCE: Duration = Duration::from_millis(250);

/// The events held for acknowledgements to come, by task id.
pub struct AckedEvents {
    channel: String,
    held: Mutex<HashMap<String, Held>>,
    fallback: EventPublisher,
    patience: Duration,
    /// Wakes the sweep when the first event is held after none was.
    first_held: Arc<Notify>,
}

struct Held {
    message: String,
    since: Instant,
}

impl AckedEvents {
    /// Events for the events channel of `namespace`; those not acknowledged within
    /// `patience` go out through `fallback`.
    pub fn spawn(fallback: EventPublisher, namespace: &str, patience: Duration) -> Arc<Self> {
        let first_held = Arc::new(Notify::new());
        let acked = Arc::new(Self {
            channel: events::channel(namespace),
            held: Mutex::new(HashMap::new()),
            fallback,
            patience,
            first_held: first_held.clone(),
        });
        tokio::spawn(sweep(Arc::downgrade(&acked), first_held, patience));
        acked
    }

    /// Holds `event` until the acknowledgement of `task` carries it.
    pub fn hold(&self, task: &TaskId, event: &Event) {
        let Some(message) = event.message() else {
            return;
        };
        let was_empty = {
            let mut held = self.held();
            let was_empty = held.is_empty();
            held.insert(task.to_string(), Held { message, since: Instant::now() });
            was_empty
        };
        if was_empty {
            self.first_held.notify_one();
        }
    }

    /// `cmd` with the events held for the tasks it acknowledges, if it is `shape`'s
    /// acknowledgement and any are held: the pipeline to send, and its events, to publish
    /// apart should it fail.
    pub fn with_acknowledgement(&self, shape: &AckShape, cmd: &Cmd) -> Option<Outgoing> {
        let tasks = shape.acknowledged(cmd)?;
        let messages: Vec<String> = {
            let mut held = self.held();
            if held.is_empty() {
                return None;
            }
            tasks
                .into_iter()
                .filter_map(|task| std::str::from_utf8(task).ok())
                .filter_map(|task| held.remove(task))
                .map(|held| held.message)
                .collect()
        };
        if messages.is_empty() {
            return None;
        }
        let mut pipeline = redis::pipe();
        pipeline.add_command(cmd.clone());
        for message in &messages {
            pipeline.cmd("PUBLISH").arg(&self.channel).arg(message);
        }
        Some(Outgoing { pipeline, messages })
    }

    /// Publishes through the event publisher the events of a pipeline that failed.
    pub fn publish_apart(&self, messages: Vec<String>) {
        for message in messages {
            self.fallback.publish_message_in_background(message);
        }
    }

    /// Publishes apart the events held longer than the patience; whether any are left.
    fn publish_overdue(&self) -> bool {
        let overdue: Vec<String> = self
            .held()
            .extract_if(|_, held| held.since.elapsed() >= self.patience)
            .map(|(_, held)| held.message)
            .collect();
        if !overdue.is_empty() {
            tracing::debug!(
                events = overdue.len(),
                "events not acknowledged in time; published apart"
            );
        }
        self.publish_apart(overdue);
        !self.held().is_empty()
    }

    fn held(&self) -> MutexGuard<'_, HashMap<String, Held>> {
        // Nothing is left half-changed under this lock: a panic inside leaves a usable map.
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for AckedEvents {
    /// A worker that stops publishes what it still holds, and ends the sweep.
    fn drop(&mut self) {
        let held: Vec<String> = self.held().drain().map(|(_, held)| held.message).collect();
        self.publish_apart(held);
        self.first_held.notify_one();
    }
}

/// A pipeline of an acknowledgement and the events it carries.
pub struct Outgoing {
    pub pipeline: Pipeline,
    pub messages: Vec<String>,
}

/// Runs while events are held, every `patience`; sleeps on `first_held` otherwise.
async fn sweep(acked: Weak<AckedEvents>, first_held: Arc<Notify>, patience: Duration) {
    loop {
        first_held.notified().await;
        loop {
            tokio::time::sleep(patience).await;
            let Some(acked) = acked.upgrade() else {
                return;
            };
            if !acked.publish_overdue() {
                break;
            }
        }
        if acked.strong_count() == 0 {
            return;
        }
    }
}

/// How apalis-redis's acknowledgement script is called for one queue: `EVALSHA <sha> 5` with
/// the worker's in-flight set, the done set, the dead set, the scheduled set and the
/// metadata hash, whether to emit events, then five arguments per task, the first its id
/// (`queries::handle_results`).
#[derive(Clone)]
pub struct AckShape {
    done_set: Vec<u8>,
    dead_set: Vec<u8>,
}

/// The verb, the script, the key count, 5 keys and the events flag.
const ACK_HEAD: usize = 9;
/// Per task: its id, the time, its result, its status and its attempt.
const ACK_PER_TASK: usize = 5;

impl AckShape {
    pub fn of(config: &Config) -> Self {
        Self {
            done_set: config.done_jobs_set().into_bytes(),
            dead_set: config.dead_jobs_set().into_bytes(),
        }
    }

    /// The ids of the tasks `cmd` acknowledges, if it is this queue's acknowledgement.
    pub fn acknowledged<'a>(&self, cmd: &'a Cmd) -> Option<Vec<&'a [u8]>> {
        let count = cmd.args_iter().len();
        if count < ACK_HEAD + ACK_PER_TASK || !(count - ACK_HEAD).is_multiple_of(ACK_PER_TASK) {
            return None;
        }
        let args = script_call(cmd, b"5")?;
        let [_verb, _script, _keys, _in_flight, done, dead, ..] = args.as_slice() else {
            return None;
        };
        let is_ack = *done == self.done_set.as_slice() && *dead == self.dead_set.as_slice();
        is_ack.then(|| args[ACK_HEAD..].iter().step_by(ACK_PER_TASK).copied().collect())
    }
}
