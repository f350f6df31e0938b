//! The storage's connection, watched for requests that overlap an announcement, and for
//! fetches that cannot find a task.
//!
//! apalis's storage starts a fetch only when none is in flight, and parks the worker when a
//! fetch comes back empty. A fetch whose script ran in Redis before a job was pushed comes
//! back empty even if that job's message arrived (and was consumed) while it was on its way.
//! So a request that sees the announcement count change while it is in flight announces
//! again when it completes: the worker is polled once more and, finding the storage idle,
//! fetches. A request that starts after a message was counted was sent after the job's push
//! (the push precedes its message), so it needs nothing more. The cost is one extra poll of
//! the worker per overlapping request, and one extra fetch only when the overlapped fetch
//! came back empty.
//!
//! apalis also fetches whenever its worker is polled with room for a task and nothing
//! buffered: right after it hands a task over, and again when the task is done. Jobs that
//! arrive one by one made three fetch scripts per job, two of them empty. A fetch that
//! starts with no announcement since the last one started, when that one came back with
//! room to spare, is answered here with no tasks: the last fetch saw every task pushed before
//! it ran, and any pushed since has been announced (`QueueSignal::fetch_may_find_work`).
//!
//! An acknowledgement of tasks whose runs hold their outcome events goes to Redis with those
//! events, in one pipeline (`crate::acked_events`).

use std::sync::Arc;

use apalis_redis::Config;
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

use super::QueueSignal;
use crate::acked_events::{AckShape, AckedEvents, Outgoing};
use crate::script_call::script_call;

#[derive(Clone)]
pub struct WatchedConnection {
    inner: MultiplexedConnection,
    signal: Arc<QueueSignal>,
    fetches: FetchShape,
    acks: Option<(AckShape, Arc<AckedEvents>)>,
}

impl WatchedConnection {
    /// The connection of the storage `config` describes, woken by `signal`.
    pub fn new(inner: MultiplexedConnection, signal: Arc<QueueSignal>, config: &Config) -> Self {
        Self { inner, signal, fetches: FetchShape::of(config), acks: None }
    }

    /// Sends the events `acked` holds with the acknowledgements of their tasks.
    pub fn sending(mut self, acked: Arc<AckedEvents>, config: &Config) -> Self {
        self.acks = Some((AckShape::of(config), acked));
        self
    }

    /// `cmd` as a pipeline with the events held for the tasks it acknowledges, if any.
    fn with_events(&self, cmd: &Cmd) -> Option<(Outgoing, Arc<AckedEvents>)> {
        let (shape, acked) = self.acks.as_ref()?;
        Some((acked.with_acknowledgement(shape, cmd)?, acked.clone()))
    }
}

impl ConnectionLike for WatchedConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let signal = self.signal.clone();
        let seen = signal.announcements();
        let fetch_of = self.fetches.batch_of(cmd);
        if fetch_of.is_some() {
            if !signal.fetch_may_find_work(seen) {
                return Box::pin(async { Ok(nothing_fetched()) });
            }
            signal.fetch_started(seen);
        }
        if let Some((outgoing, acked)) = self.with_events(cmd) {
            let mut inner = self.inner.clone();
            return Box::pin(async move {
                let Outgoing { pipeline, messages } = outgoing;
                let replies = inner.req_packed_commands(&pipeline, 0, messages.len() + 1).await;
                overlapped(&signal, seen);
                match replies {
                    // The acknowledgement's reply; the events' are counts of listeners.
                    Ok(replies) => Ok(replies.into_iter().next().unwrap_or(Value::Nil)),
                    Err(e) => {
                        acked.publish_apart(messages);
                        Err(e)
                    }
                }
            });
        }
        let reply = self.inner.req_packed_command(cmd);
        Box::pin(async move {
            let reply = reply.await;
            if let Some(batch) = fetch_of {
                signal.fetch_ended(fetched(&reply).is_some_and(|tasks| tasks < batch));
            }
            overlapped(&signal, seen);
            reply
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let signal = self.signal.clone();
        let seen = signal.announcements();
        let replies = self.inner.req_packed_commands(pipeline, offset, count);
        Box::pin(async move {
            let replies = replies.await;
            overlapped(&signal, seen);
            replies
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

fn overlapped(signal: &QueueSignal, seen: u64) {
    if signal.announcements() != seen {
        tracing::trace!("a storage request overlapped a job announcement; waking the worker again");
        signal.reannounce();
    }
}

/// How apalis-redis's fetch script is called for one queue: `EVALSHA <sha> 7` with the
/// workers set, the active list, the worker's in-flight set, the data hash, the signal
/// list, the metadata prefix and the scheduled set, then the time, the batch size and the
/// worker's name (`queries::fetch_next`). A command of any other shape goes to Redis as it
/// is.
#[derive(Clone)]
struct FetchShape {
    active_list: Vec<u8>,
    signal_list: Vec<u8>,
    scheduled_set: Vec<u8>,
}

impl FetchShape {
    fn of(config: &Config) -> Self {
        Self {
            active_list: config.active_jobs_list().into_bytes(),
            signal_list: config.signal_list().into_bytes(),
            scheduled_set: config.scheduled_jobs_set().into_bytes(),
        }
    }

    /// The batch size, if `cmd` is this queue's fetch.
    fn batch_of(&self, cmd: &Cmd) -> Option<usize> {
        // Every request on the queue's connection passes here: most are told apart by their
        // length alone, before anything is collected.
        let args = cmd.args_iter();
        if args.len() != FETCH_ARGS {
            return None;
        }
        let args = script_call(cmd, b"7")?;
        let [_verb, _script, _keys, _workers, active, _in_flight, _data, signal, _meta, scheduled, _now, batch, _worker] =
            args.as_slice()
        else {
            return None;
        };
        let is_fetch = *active == self.active_list.as_slice()
            && *signal == self.signal_list.as_slice()
            && *scheduled == self.scheduled_set.as_slice();
        if !is_fetch {
            return None;
        }
        std::str::from_utf8(batch).ok()?.parse().ok()
    }
}

/// The verb, the script, the key count, 7 keys and 3 arguments.
const FETCH_ARGS: usize = 13;

/// How many tasks a fetch's reply (`{task data, task metadata}`) holds; `None` for a reply
/// of another shape, which counts as one that may have left tasks.
fn fetched(reply: &RedisResult<Value>) -> Option<usize> {
    match reply {
        Ok(Value::Array(parts)) => match parts.first() {
            Some(Value::Array(tasks)) => Some(tasks.len()),
            _ => None,
        },
        _ => None,
    }
}

/// The fetch script's reply when the queue holds nothing for the worker.
fn nothing_fetched() -> Value {
    Value::Array(vec![Value::Array(Vec::new()), Value::Array(Vec::new())])
}
