//! Runs one delivery of a job id: claim the row, run the kind's handler, record and publish
//! the outcome (a kind whose effects are all in MySQL does the three in one transaction,
//! `crate::single_commit`). MySQL decides who runs a job; Redis only wakes workers up.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{AbortError, BoxDynError, Data, TaskId};
use dispatch_shared::events::Event;
use dispatch_shared::jobs::{error_codes, JobKind, JobMessage};
use dispatch_shared::models::{now_naive, JobRow};
use dispatch_shared::repo::jobs;
use tracing::Instrument;
use uuid::Uuid;

use crate::context::JobContext;
use crate::failure::JobFailure;
use crate::handlers;
use crate::single_commit::{self, Delivery};

#[derive(Debug, thiserror::Error)]
#[error("job {job_id} will be retried: {reason}")]
pub struct RetryLater {
    job_id: Uuid,
    reason: String,
}

pub async fn execute(
    message: JobMessage,
    ctx: Data<Arc<JobContext>>,
    queue: Data<JobKind>,
    task: Option<TaskId>,
) -> Result<(), BoxDynError> {
    let ctx: Arc<JobContext> = Arc::clone(&ctx);
    let kind = *queue;
    // The delivery runs in its own task. apalis fetches from Redis whenever the worker's
    // future is polled with room for more work, and a job running inside that future would
    // wake it at every I/O completion: about eight fetch scripts per job instead of one.
    tokio::spawn(async move {
        let _held = ctx.in_hand.hold();
        if handlers::effects_only_in_mysql(kind) {
            let delivered = deliver_in_one_transaction(&ctx, kind, message.job_id, task).await;
            if let Some(done) = delivered {
                return done;
            }
        }
        deliver(message, &ctx).await
    })
    .await
    .map_err(|e| Box::new(e) as BoxDynError)?
}

/// `None` when the transaction rolled back and the general way should take the delivery.
async fn deliver_in_one_transaction(
    ctx: &Arc<JobContext>,
    kind: JobKind,
    job_id: Uuid,
    task: Option<TaskId>,
) -> Option<Result<(), BoxDynError>> {
    let span = tracing::info_span!(
        "job",
        %job_id,
        %kind,
        request_id = tracing::field::Empty
    );
    async {
        let delivery = ctx.shared_commits.deliver(ctx.clone(), job_id).await;
        settle_one_transaction(ctx, job_id, task, delivery)
    }
    .instrument(span)
    .await
}

fn settle_one_transaction(
    ctx: &JobContext,
    job_id: Uuid,
    task: Option<TaskId>,
    delivery: Result<Delivery, single_commit::RolledBack>,
) -> Option<Result<(), BoxDynError>> {
    match delivery {
        Ok(Delivery::NotClaimable) => {
            tracing::debug!(%job_id, "job not claimable; skipping delivery");
            Some(Ok(()))
        }
        Ok(Delivery::Finished(run)) => {
            if let Some(request_id) = &run.row.request_id {
                tracing::Span::current().record("request_id", request_id.as_str());
            }
            // Its only event: it goes out with the task's acknowledgement, which apalis
            // sends once this returns.
            let outcome = Event::Job(run.row.view());
            match &task {
                Some(task) => ctx.acked_events.hold(task, &outcome),
                None => ctx.events.publish_in_background(&outcome),
            }
            Some(match run.failure {
                None => {
                    count_success(job_id, run.kind, run.elapsed, run.row.attempts);
                    Ok(())
                }
                Some((code, message)) => Err(failed_for_good(job_id, run.kind, code, message)),
            })
        }
        Err(rolled_back) => {
            tracing::debug!(%job_id, error = %rolled_back, "one-transaction run rolled back; taking the general way");
            None
        }
    }
}

async fn deliver(message: JobMessage, ctx: &JobContext) -> Result<(), BoxDynError> {
    let job_id = message.job_id;
    let retry_later = |reason: String| -> BoxDynError { Box::new(RetryLater { job_id, reason }) };

    let claimed = {
        let mut conn = ctx.db.get().await.map_err(|e| retry_later(e.to_string()))?;
        jobs::claim(&mut conn, job_id, ctx.settings.job_lease)
            .await
            .map_err(|e| retry_later(e.to_string()))?
    };
    if !claimed {
        // Finished, deleted, or held by a live worker: a duplicate delivery, nothing to do.
        tracing::debug!(%job_id, "job not claimable; skipping delivery");
        return Ok(());
    }

    let job = {
        let mut conn = ctx.db.get().await.map_err(|e| retry_later(e.to_string()))?;
        jobs::find(&mut conn, job_id).await.map_err(|e| retry_later(e.to_string()))?
    };
    let Some(job) = job else { return Ok(()) };
    // Every line the run logs carries the job and the request that started it.
    let span = tracing::info_span!(
        "job",
        %job_id,
        kind = %job.kind,
        request_id = tracing::field::Empty
    );
    if let Some(request_id) = &job.request_id {
        span.record("request_id", request_id.as_str());
    }
    run_claimed(ctx, job_id, job).instrument(span).await
}

async fn run_claimed(ctx: &JobContext, job_id: Uuid, job: JobRow) -> Result<(), BoxDynError> {
    let retry_later = |reason: String| -> BoxDynError { Box::new(RetryLater { job_id, reason }) };
    // Read just after the claim: this is the `running` row a poll would return.
    publish_row(ctx, &job);

    let Some(kind) = job.kind() else {
        record_failure(ctx, &job, error_codes::INVALID_PAYLOAD, "unknown job kind").await?;
        return Err(
            AbortError::new(RetryLater { job_id, reason: "unknown job kind".into() }).into()
        );
    };

    let started = std::time::Instant::now();
    let lease_keeper = keep_lease(ctx, job_id);
    let outcome = handlers::run(ctx, kind, &job).await;
    lease_keeper.abort();
    let elapsed = started.elapsed();

    match outcome {
        Ok(result) => {
            let attempts = job.attempts;
            let done = job.succeeded(&result, now_naive());
            let mut conn = ctx.db.get().await.map_err(|e| retry_later(e.to_string()))?;
            let written =
                jobs::finish(&mut conn, &done).await.map_err(|e| retry_later(e.to_string()))?;
            drop(conn);
            count_success(job_id, kind, elapsed, attempts);
            if written {
                publish_row(ctx, &done);
            }
            Ok(())
        }
        Err(JobFailure::Permanent { code, message }) => {
            record_failure(ctx, &job, code, &message).await?;
            Err(failed_for_good(job_id, kind, code, message))
        }
        Err(JobFailure::Transient(reason)) if job.attempts >= ctx.settings.job_max_attempts => {
            let message = format!("gave up after {} attempts: {reason}", job.attempts);
            tracing::error!(%job_id, %kind, error = %message, "job failed");
            record_failure(ctx, &job, error_codes::EXHAUSTED, &message).await?;
            metrics::counter!("dispatch_jobs_total", "kind" => kind.as_str(), "outcome" => "failed").increment(1);
            Err(AbortError::new(RetryLater { job_id, reason: message }).into())
        }
        Err(JobFailure::Transient(reason)) => {
            tracing::warn!(%job_id, %kind, attempts = job.attempts, error = %reason, "job attempt failed; will retry");
            metrics::counter!("dispatch_jobs_total", "kind" => kind.as_str(), "outcome" => "retried").increment(1);
            if let Ok(mut conn) = ctx.db.get().await {
                let _ = jobs::release_for_retry(&mut conn, job_id, &reason).await;
            }
            publish(ctx, job_id).await;
            Err(retry_later(reason))
        }
    }
}

fn count_success(job_id: Uuid, kind: JobKind, elapsed: Duration, attempts: u32) {
    tracing::info!(%job_id, %kind, ?elapsed, attempts, "job succeeded");
    metrics::histogram!("dispatch_job_duration_seconds", "kind" => kind.as_str())
        .record(elapsed.as_secs_f64());
    metrics::counter!("dispatch_jobs_total", "kind" => kind.as_str(), "outcome" => "succeeded")
        .increment(1);
}

/// Counts a permanent failure, already recorded, and tells apalis not to retry it.
fn failed_for_good(job_id: Uuid, kind: JobKind, code: &str, message: String) -> BoxDynError {
    tracing::warn!(%job_id, %kind, code, error = %message, "job failed permanently");
    metrics::counter!("dispatch_jobs_total", "kind" => kind.as_str(), "outcome" => "failed")
        .increment(1);
    AbortError::new(RetryLater { job_id, reason: message }).into()
}

async fn record_failure(
    ctx: &JobContext,
    job: &JobRow,
    code: &str,
    message: &str,
) -> Result<(), BoxDynError> {
    let failed = job.clone().failed(message, code, now_naive());
    let mut conn = ctx.db.get().await.map_err(|e| Box::new(e) as BoxDynError)?;
    let written = jobs::finish(&mut conn, &failed).await?;
    drop(conn);
    if written {
        publish_row(ctx, &failed);
    }
    Ok(())
}

/// Publishes `row`, which must be what the table now holds: every event equals what a
/// poll would return. The writes above know the row they leave, so they need no re-read.
/// The job goes on without waiting for Redis; events still leave in order.
fn publish_row(ctx: &JobContext, row: &JobRow) {
    ctx.events.publish_in_background(&Event::Job(row.view()));
}

/// Publishes the row as it now stands, read back (after a write that does not know it).
pub async fn publish(ctx: &JobContext, job_id: Uuid) {
    let row = match ctx.db.get().await {
        Ok(mut conn) => jobs::find(&mut conn, job_id).await.ok().flatten(),
        Err(_) => None,
    };
    if let Some(row) = row {
        ctx.events.publish_in_background(&Event::Job(row.view()));
    }
}

/// Renews the lease while the handler runs, so a live worker keeps its job and a dead one
/// loses it within one lease.
fn keep_lease(ctx: &JobContext, job_id: Uuid) -> tokio::task::JoinHandle<()> {
    let db = ctx.db.clone();
    let lease = ctx.settings.job_lease;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(lease / 3);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Ok(mut conn) = db.get().await {
                if let Err(e) = jobs::renew_lease(&mut conn, job_id, lease).await {
                    tracing::warn!(%job_id, error = %e, "lease renewal failed");
                }
            }
        }
    })
}

/// Backoff between attempts of a transient failure.
pub fn backoff_bounds() -> (Duration, Duration) {
    (Duration::from_millis(500), Duration::from_secs(20))
}
