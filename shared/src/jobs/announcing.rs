//! The connection one push goes through: it sends the job's announcement in the same write
//! as apalis-redis's push script.
//!
//! Redis runs a connection's commands in the order they arrive, so the `PUBLISH` that follows
//! the script in one write runs once the task is queued: a worker woken by it finds the task.
//! Sent after the script's reply instead, it cost the enqueuing request a second round trip.

use apalis_redis::ConnectionManager;
use redis::aio::ConnectionLike;
use redis::{Arg, Cmd, Pipeline, RedisFuture, Value};

#[derive(Clone)]
pub struct AnnouncingConnection {
    inner: ConnectionManager,
    announcement: Cmd,
}

impl AnnouncingConnection {
    /// Publishes `message` on `channel` after each script that goes through it.
    pub fn new(inner: ConnectionManager, channel: &str, message: &str) -> Self {
        let mut announcement = redis::cmd("PUBLISH");
        announcement.arg(channel).arg(message);
        Self { inner, announcement }
    }
}

/// Whether `cmd` runs a script: the push, or its retry as `EVAL` if Redis had lost it. Each
/// one is followed by the announcement, so a push that runs only at its retry is announced
/// after it runs.
fn runs_script(cmd: &Cmd) -> bool {
    match cmd.args_iter().next() {
        Some(Arg::Simple(verb)) => {
            verb.eq_ignore_ascii_case(b"EVALSHA") || verb.eq_ignore_ascii_case(b"EVAL")
        }
        _ => false,
    }
}

impl ConnectionLike for AnnouncingConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        if !runs_script(cmd) {
            return self.inner.req_packed_command(cmd);
        }
        let mut pipeline = Pipeline::with_capacity(2);
        pipeline.add_command(cmd.clone()).add_command(self.announcement.clone());
        Box::pin(async move {
            // The script's reply is the push's answer. A failed announcement costs only a
            // delay: workers also poll.
            let mut replies = self.inner.req_packed_commands(&pipeline, 0, 2).await?.into_iter();
            let pushed = replies.next().unwrap_or(Value::Nil);
            if let Some(Value::ServerError(e)) = replies.next() {
                tracing::warn!(error = ?e, "could not announce a job; workers will poll for it");
            }
            Ok(pushed)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.inner.req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}
