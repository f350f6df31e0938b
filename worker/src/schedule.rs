//! The daily-mail schedule. Every worker runs it, so the schedule survives any one worker;
//! each firing is recorded in MySQL and only the worker that records it enqueues the run.

use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data};
use apalis_cron::Tick;
use dispatch_shared::jobs::daily_mail::DailyMailPayload;
use dispatch_shared::jobs::JobKind;
use dispatch_shared::repo::{jobs, schedule_runs};

use crate::context::JobContext;

pub const DAILY_MAIL: &str = "daily_mail";

pub async fn fire_daily_mail(
    tick: Tick<chrono_tz::Tz>,
    ctx: Data<Arc<JobContext>>,
) -> Result<(), BoxDynError> {
    let seconds = i64::try_from(tick.get_timestamp())?;
    let fire_at = chrono::DateTime::from_timestamp(seconds, 0)
        .ok_or("schedule tick out of range")?
        .naive_utc();
    let payload = serde_json::to_string(&DailyMailPayload {
        requested_by: None,
        scheduled_for: Some(fire_at),
    })?;
    let job = jobs::new_job(JobKind::DailyMail, None, Some(payload), None);
    let recorded = {
        let mut conn = ctx.db.get().await?;
        schedule_runs::record_firing(&mut conn, DAILY_MAIL, fire_at, &job).await?
    };
    if !recorded {
        tracing::debug!(%fire_at, "daily mail firing already recorded by another worker");
        return Ok(());
    }
    let job_id = job.id.0;
    tracing::info!(%fire_at, %job_id, "daily mail scheduled run enqueued");
    if let Err(e) = ctx.queues.push(JobKind::DailyMail, job_id).await {
        tracing::warn!(%job_id, error = %e, "daily mail run stored but not pushed; the reconciler will push it");
    }
    Ok(())
}
