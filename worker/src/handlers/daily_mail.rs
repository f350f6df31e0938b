//! `daily_mail`: claims every user due for the welcome mail and enqueues their `send_mail`
//! jobs. Claims and jobs are committed together, so a second run (or a re-run of this one
//! after a crash) finds nobody it has already claimed.

use dispatch_shared::jobs::daily_mail::{DailyMailPayload, DailyMailResult};
use dispatch_shared::jobs::JobKind;
use dispatch_shared::models::{ago, JobRow};
use dispatch_shared::repo::welcome_mail::{self, ClaimOrigin};
use uuid::Uuid;

use crate::context::JobContext;
use crate::failure::JobFailure;

/// Users claimed per transaction: short locks, bounded statements.
const BATCH: i64 = 200;

pub async fn run(ctx: &JobContext, job: &JobRow) -> Result<serde_json::Value, JobFailure> {
    let payload: DailyMailPayload = match job.payload {
        Some(_) => super::payload(job)?,
        None => DailyMailPayload::default(),
    };
    let joined_before = ago(ctx.settings.welcome_mail_after);
    let origin = ClaimOrigin { owner: payload.requested_by, request_id: job.request_id.clone() };

    let mut enqueued = 0u64;
    loop {
        let claimed = {
            let mut conn = ctx.db.get().await?;
            welcome_mail::claim_due(&mut conn, joined_before, BATCH, &origin).await?
        };
        push_all(ctx, &claimed).await;
        enqueued += claimed.len() as u64;
        if (claimed.len() as i64) < BATCH {
            break;
        }
    }
    tracing::info!(enqueued, %joined_before, "daily mail run claimed its users");
    serde_json::to_value(DailyMailResult { enqueued, joined_before }).map_err(JobFailure::transient)
}

/// The jobs are committed; a push that fails is left to the reconciler.
async fn push_all(ctx: &JobContext, job_ids: &[Uuid]) {
    for &job_id in job_ids {
        if let Err(e) = ctx.queues.push(JobKind::SendMail, job_id).await {
            tracing::warn!(%job_id, error = %e, "send_mail job stored but not pushed; the reconciler will push it");
            return;
        }
    }
}
