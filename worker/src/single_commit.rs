//! A job whose every effect is rows in MySQL (a registration) is taken, run and finished in
//! one transaction. The general way commits three times (the claim, the handler's writes, the
//! outcome), and each commit waits for MariaDB's log flush: on the pipeline's path those
//! flushes were most of its latency. Here there is one.
//!
//! Pollers see such a job go from `queued` straight to its outcome. A run that dies midway
//! leaves no trace: the job is still `queued` with its `attempts` unchanged, and the upkeep's
//! requeue (or apalis's orphan recovery) delivers it again. A transient failure rolls back and
//! the delivery takes the general way (`crate::runner`), which counts attempts and retries.

use std::time::{Duration, Instant};

use diesel_async::AsyncConnection;
use dispatch_shared::jobs::JobKind;
use dispatch_shared::models::{now_naive, JobRow};
use dispatch_shared::repo::jobs;
use uuid::Uuid;

use crate::context::JobContext;
use crate::failure::JobFailure;
use crate::handlers;

/// A run that committed.
pub struct Finished {
    /// The row as written.
    pub row: JobRow,
    pub kind: JobKind,
    pub elapsed: Duration,
    /// The code and message of a permanent failure; `None` when the job succeeded.
    pub failure: Option<(&'static str, String)>,
}

pub enum Delivery {
    Finished(Box<Finished>),
    /// The job is gone, finished, or held by another run: nothing to do.
    NotClaimable,
}

/// Why nothing was committed; the general way takes the delivery over.
#[derive(Debug, thiserror::Error)]
pub enum RolledBack {
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("the job's kind is unknown or not one that runs in one transaction")]
    OtherKind,
    #[error("transient failure: {0}")]
    Transient(String),
}

pub async fn deliver(ctx: &JobContext, job_id: Uuid) -> Result<Delivery, RolledBack> {
    let mut conn = ctx.db.get().await.map_err(|e| RolledBack::Unavailable(e.to_string()))?;
    conn.transaction(async |conn| {
        let Some(row) = jobs::lock_for_run(conn, job_id).await? else {
            return Ok(Delivery::NotClaimable);
        };
        let now = now_naive();
        if !row.claimable(now) {
            return Ok(Delivery::NotClaimable);
        }
        let kind = row.kind().ok_or(RolledBack::OtherKind)?;
        if let Some(request_id) = &row.request_id {
            tracing::Span::current().record("request_id", request_id.as_str());
        }
        let running = row.started(now);
        let started = Instant::now();
        let outcome = handlers::run_in_transaction(conn, ctx, kind, &running)
            .await
            .ok_or(RolledBack::OtherKind)?;
        let elapsed = started.elapsed();
        let (row, failure) = match outcome {
            Ok(result) => (running.succeeded(&result, now_naive()), None),
            Err(JobFailure::Permanent { code, message }) => {
                (running.failed(&message, code, now_naive()), Some((code, message)))
            }
            Err(JobFailure::Transient(reason)) => return Err(RolledBack::Transient(reason)),
        };
        jobs::finish(conn, &row).await?;
        Ok(Delivery::Finished(Box::new(Finished { row, kind, elapsed, failure })))
    })
    .await
}
