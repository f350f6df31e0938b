use std::time::Duration;

use dispatch_shared::events::Event;
use dispatch_shared::jobs::JobKind;
use dispatch_shared::models::JobRow;
use dispatch_shared::repo::jobs;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::state::AppState;

/// Writes the row (the durable record), then wakes a worker through Redis. If Redis is
/// down the job is still accepted: the reconciler pushes it once Redis is back.
pub async fn enqueue(
    state: &AppState,
    kind: JobKind,
    owner: Option<Uuid>,
    payload: Option<String>,
) -> Result<Uuid, ApiError> {
    let job = jobs::new_job(kind, owner, payload);
    let id = Uuid::parse_str(&job.id).map_err(ApiError::internal)?;
    {
        let mut conn = state.db.get().await?;
        jobs::insert(&mut conn, &job).await?;
    }
    if let Err(e) = state.queues.push(kind, id).await {
        tracing::warn!(job_id = %id, error = %e, "job stored but not pushed; the reconciler will push it");
    }
    metrics::counter!("dispatch_jobs_enqueued_total", "kind" => kind.as_str()).increment(1);
    Ok(id)
}

/// The job if `caller` may see it: their own, any for admins, and ownerless ones (whose id
/// is the capability) for anyone.
pub fn visible_to(job: &JobRow, caller: Option<&AuthUser>) -> bool {
    match job.owner() {
        None => true,
        Some(owner) => caller.is_some_and(|c| c.id == owner || c.is_admin()),
    }
}

pub async fn find_visible(
    state: &AppState,
    id: Uuid,
    caller: Option<&AuthUser>,
) -> Result<JobRow, ApiError> {
    let mut conn = state.db.get().await?;
    match jobs::find(&mut conn, id).await? {
        Some(job) if visible_to(&job, caller) => Ok(job),
        _ => Err(ApiError::NotFound),
    }
}

pub async fn load(state: &AppState, id: Uuid) -> Result<Option<JobRow>, ApiError> {
    let mut conn = state.db.get().await?;
    Ok(jobs::find(&mut conn, id).await?)
}

// Pub/sub is the fast path; this re-read covers a lost event or a Redis restart.
pub const RECHECK_EVERY: Duration = Duration::from_secs(2);

/// Waits until the job finishes or `timeout` passes; returns the row as last seen.
pub async fn await_finished(
    state: &AppState,
    id: Uuid,
    timeout: Duration,
) -> Result<Option<JobRow>, ApiError> {
    let mut events = state.events.subscribe();
    let deadline = Instant::now() + timeout;
    loop {
        let row = load(state, id).await?;
        match &row {
            None => return Ok(None),
            Some(job) if job.is_finished() => return Ok(row),
            Some(_) if Instant::now() >= deadline => return Ok(row),
            Some(_) => {}
        }
        let recheck_at = (Instant::now() + RECHECK_EVERY).min(deadline);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(recheck_at) => break,
                received = events.recv() => match received {
                    Ok(Event::Job(view)) if view.id == id && view.status.is_finished() => break,
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => {
                        tokio::time::sleep_until(recheck_at).await;
                        break;
                    }
                }
            }
        }
    }
}
