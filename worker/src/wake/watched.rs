//! The storage's connection, watched for requests that overlap an announcement.
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

use std::sync::Arc;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{Cmd, Pipeline, RedisFuture, Value};

use super::QueueSignal;

#[derive(Clone)]
pub struct WatchedConnection {
    inner: MultiplexedConnection,
    signal: Arc<QueueSignal>,
}

impl WatchedConnection {
    pub fn new(inner: MultiplexedConnection, signal: Arc<QueueSignal>) -> Self {
        Self { inner, signal }
    }
}

impl ConnectionLike for WatchedConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let signal = self.signal.clone();
        let seen = signal.announcements();
        let reply = self.inner.req_packed_command(cmd);
        Box::pin(async move {
            let reply = reply.await;
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
