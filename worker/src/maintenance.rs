//! Periodic upkeep, safe to run in every worker at once: keeping each queue's backlog
//! fetchable, re-pushing jobs whose Redis message may be lost, and purging finished rows past
//! the retention period.

use std::sync::Arc;
use std::time::Duration;

use dispatch_shared::jobs::JobKind;
use dispatch_shared::models::{now_naive, utc};
use dispatch_shared::repo::{job_operations, jobs, refresh_tokens, schedule_runs};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::JobContext;

const RECONCILE_EVERY: Duration = Duration::from_secs(5);
/// A backlog can grow by the fetch script's margin (`JobQueues::promote_backlog`) only at
/// more than 28,000 pushes per second between two passes.
const PROMOTE_EVERY: Duration = Duration::from_millis(250);
const PURGE_AT_MOST_EVERY: Duration = Duration::from_secs(60);
const BATCH: i64 = 500;
// A firing can only be seen twice within a worker's clock skew; a week is plenty.
const FIRINGS_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(7);

pub fn spawn(ctx: Arc<JobContext>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut reconcile = tokio::time::interval(RECONCILE_EVERY);
        // A short retention (as in tests) is honoured within half of it.
        let purge_every =
            (ctx.settings.job_retention / 2).clamp(Duration::from_secs(1), PURGE_AT_MOST_EVERY);
        let mut purge = tokio::time::interval(purge_every);
        let mut promote = tokio::time::interval(PROMOTE_EVERY);
        promote.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = promote.tick() => promote_backlogs(&ctx).await,
                _ = reconcile.tick() => {
                    if let Err(e) = reconcile_once(&ctx).await {
                        tracing::warn!(error = %e, "reconciler pass failed");
                    }
                    if let Err(e) = record_queue_depth(&ctx).await {
                        tracing::debug!(error = %e, "queue depth not measured");
                    }
                }
                _ = purge.tick() => {
                    if let Err(e) = purge_once(&ctx).await {
                        tracing::warn!(error = %e, "purge pass failed");
                    }
                }
            }
        }
    })
}

/// Moves each handled queue's backlog beyond what apalis-redis's fetch can take into its
/// active list (`JobQueues::promote_backlog`).
pub async fn promote_backlogs(ctx: &JobContext) {
    for &kind in &ctx.settings.worker_kinds {
        match ctx.queues.promote_backlog(kind).await {
            Ok(0) => {}
            Ok(moved) => tracing::debug!(%kind, moved, "backlog moved to the active list"),
            Err(e) => tracing::warn!(%kind, error = %e, "backlog not moved"),
        }
    }
}

pub async fn reconcile_once(
    ctx: &JobContext,
) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let mut conn = ctx.db.get().await?;
    let abandoned = jobs::release_abandoned(&mut conn, ctx.settings.requeue_after).await?;
    if abandoned > 0 {
        tracing::warn!(abandoned, "jobs whose worker stopped were released for another run");
    }
    let due = jobs::due_for_requeue(&mut conn, ctx.settings.requeue_after, BATCH).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut pushed = Vec::with_capacity(due.len());
    for (id, kind) in &due {
        let (Ok(job_id), Ok(kind)) = (Uuid::parse_str(id), kind.parse::<JobKind>()) else {
            continue;
        };
        match ctx.queues.push(kind, job_id).await {
            Ok(()) => pushed.push(id.clone()),
            Err(e) => {
                // Redis is down: leave the rest for the next pass.
                tracing::warn!(error = %e, "reconciler could not push; retrying later");
                break;
            }
        }
    }
    jobs::mark_requeued(&mut conn, &pushed).await?;
    tracing::info!(count = pushed.len(), "re-enqueued jobs whose queue message may have been lost");
    Ok(pushed.len())
}

async fn purge_once(ctx: &JobContext) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let mut conn = ctx.db.get().await?;
    let purged = jobs::purge_finished(&mut conn, ctx.settings.job_retention, BATCH).await?;
    schedule_runs::purge_before(&mut conn, now_naive() - FIRINGS_KEPT).await?;
    dispatch_shared::repo::idempotency_keys::purge_expired(&mut conn).await?;
    // Bounded statements, as many as a backlog needs.
    while refresh_tokens::purge_expired(&mut conn, BATCH).await? == BATCH as usize {}
    job_operations::forget_finished_minutes(&mut conn).await?;
    for kind in JobKind::ALL {
        ctx.queues.vacuum(kind).await?;
    }
    if purged > 0 {
        tracing::info!(purged, "purged finished jobs past retention");
    }
    Ok(purged)
}

/// `dispatch_queue_depth{kind}` and `dispatch_queue_oldest_seconds{kind}`: jobs waiting for
/// a worker and how long the oldest has waited, as MySQL counts them. KEDA scales the
/// workers on the first; the alert rules watch the second.
async fn record_queue_depth(
    ctx: &JobContext,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut conn = ctx.db.get().await?;
    let counts = job_operations::waiting_by_kind(&mut conn).await?;
    let now = chrono::Utc::now();
    for kind in counts {
        let label = kind.kind.as_str();
        metrics::gauge!("dispatch_queue_depth", "kind" => label).set(kind.queued as f64);
        let waited = kind
            .oldest_queued
            .map_or(0.0, |at| (now - utc(at)).num_milliseconds().max(0) as f64 / 1000.0);
        metrics::gauge!("dispatch_queue_oldest_seconds", "kind" => label).set(waited);
    }
    Ok(())
}
