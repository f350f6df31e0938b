use std::time::Duration;

use dispatch_shared::domain::ValidationErrors;
use dispatch_shared::events::Event;
use dispatch_shared::jobs::{error_codes, JobKind, JobStatus};
use dispatch_shared::models::JobRow;
use dispatch_shared::repo::jobs;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
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
    let job = jobs::new_job(kind, owner, payload, crate::request_id::current());
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

/// What a failed job means to the client that waited for it.
pub fn job_failure(job: &JobRow) -> ApiError {
    let message = job
        .error
        .clone()
        .unwrap_or_else(|| "The job failed.".into());
    match job.error_code.as_deref() {
        Some(error_codes::USERNAME_TAKEN) => ApiError::Conflict {
            slug: "username-taken",
            detail: message.clone(),
            errors: Some(ValidationErrors::single("username", message)),
        },
        Some(error_codes::EMAIL_TAKEN) => ApiError::Conflict {
            slug: "email-taken",
            detail: message.clone(),
            errors: Some(ValidationErrors::single("email", message)),
        },
        Some(error_codes::EXHAUSTED) => ApiError::Unavailable(message),
        Some(error_codes::IMAGE_UNREADABLE) => ApiError::field("image", message),
        // A deployment fault (the workers cannot see the API's media root), not the client's.
        Some(error_codes::IMAGE_MISSING) => ApiError::Unavailable(message),
        _ => ApiError::internal(anyhow::anyhow!("job {} failed: {message}", job.id)),
    }
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

/// Follows one job: yields it as it stands, then each change (status or attempts) until it
/// finishes. Every instance hears every worker's events; a periodic re-read of the row makes
/// a lost event cost a delay, never the outcome.
pub struct JobWatch<'a> {
    state: &'a AppState,
    id: Uuid,
    events: broadcast::Receiver<Event>,
    last: Option<(String, u32)>,
}

impl<'a> JobWatch<'a> {
    /// Subscribes before the first read, so no change between the read and the wait is lost.
    pub fn new(state: &'a AppState, id: Uuid) -> Self {
        Self {
            events: state.events.subscribe(),
            state,
            id,
            last: None,
        }
    }

    /// The job now (first call), then its next change; `None` once the row is gone.
    pub async fn next_change(&mut self) -> Result<Option<JobRow>, ApiError> {
        let mut recheck =
            tokio::time::interval_at(tokio::time::Instant::now() + RECHECK_EVERY, RECHECK_EVERY);
        loop {
            if self.last.is_some() {
                tokio::select! {
                    _ = recheck.tick() => {}
                    received = self.events.recv() => match received {
                        Ok(Event::Job(view)) if view.id == self.id => {}
                        Ok(_) => continue,
                        Err(RecvError::Lagged(_)) => {}
                        // The subscriber lives as long as the process; poll meanwhile.
                        Err(RecvError::Closed) => { recheck.tick().await; }
                    }
                }
            }
            let Some(job) = load(self.state, self.id).await? else {
                return Ok(None);
            };
            let seen = (job.status.clone(), job.attempts);
            if self.last.as_ref() != Some(&seen) {
                self.last = Some(seen);
                return Ok(Some(job));
            }
        }
    }
}

/// Waits until the job finishes or `timeout` passes; returns the row as last seen.
pub async fn await_finished(
    state: &AppState,
    id: Uuid,
    timeout: Duration,
) -> Result<Option<JobRow>, ApiError> {
    let mut watch = JobWatch::new(state, id);
    let mut latest = None;
    let waiting = async {
        loop {
            match watch.next_change().await? {
                Some(job) if job.is_finished() => return Ok(Some(job)),
                Some(job) => latest = Some(job),
                None => return Ok(None),
            }
        }
    };
    match tokio::time::timeout(timeout, waiting).await {
        Ok(outcome) => outcome,
        Err(_) => Ok(latest),
    }
}

/// For `Prefer: wait`: the job once it has succeeded, its problem once it has failed, or
/// `None` while it is still queued or running after `timeout`.
pub async fn await_success(
    state: &AppState,
    id: Uuid,
    timeout: Duration,
) -> Result<Option<JobRow>, ApiError> {
    match await_finished(state, id, timeout).await? {
        Some(job) if job.status() == JobStatus::Succeeded => Ok(Some(job)),
        Some(job) if job.status() == JobStatus::Failed => Err(job_failure(&job)),
        _ => Ok(None),
    }
}
