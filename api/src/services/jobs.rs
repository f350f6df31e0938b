use std::time::Duration;

use dispatch_shared::domain::ValidationErrors;
use dispatch_shared::events::Event;
use dispatch_shared::jobs::{error_codes, JobKind, JobStatus};
use dispatch_shared::models::{JobRow, JobView};
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
/// finishes. Every instance hears every worker's events, and an event carries the row as
/// the worker left it, so a change costs no read; a periodic re-read of the row makes a lost
/// event cost a delay, never the outcome.
pub struct JobWatch<'a> {
    state: &'a AppState,
    id: Uuid,
    events: broadcast::Receiver<Event>,
    seed: Option<JobView>,
    last: Option<JobView>,
}

impl<'a> JobWatch<'a> {
    /// Subscribes before the first read, so no change between the read and the wait is lost.
    pub fn new(state: &'a AppState, id: Uuid) -> Self {
        Self {
            events: state.events.subscribe(),
            state,
            id,
            seed: None,
            last: None,
        }
    }

    /// The first change is `row`, read by the caller after `new` (so no read is repeated).
    pub fn starting_from(mut self, row: &JobRow) -> Self {
        self.seed = Some(row.view());
        self
    }

    async fn read(&self) -> Result<Option<JobView>, ApiError> {
        Ok(load(self.state, self.id).await?.map(|row| row.view()))
    }

    /// The job now (first call), then its next change; `None` once the row is gone.
    pub async fn next_change(&mut self) -> Result<Option<JobView>, ApiError> {
        let mut recheck =
            tokio::time::interval_at(tokio::time::Instant::now() + RECHECK_EVERY, RECHECK_EVERY);
        loop {
            let current = if let Some(seed) = self.seed.take() {
                Some(seed)
            } else if self.last.is_none() {
                self.read().await?
            } else {
                tokio::select! {
                    _ = recheck.tick() => self.read().await?,
                    received = self.events.recv() => match received {
                        Ok(Event::Job(view)) if view.id == self.id => Some(view),
                        Ok(_) => continue,
                        Err(RecvError::Lagged(_)) => self.read().await?,
                        // The subscriber lives as long as the process; poll meanwhile.
                        Err(RecvError::Closed) => {
                            recheck.tick().await;
                            self.read().await?
                        }
                    }
                }
            };
            let Some(current) = current else {
                return Ok(None);
            };
            if let Some(last) = &self.last {
                // An event published before the row we last saw can arrive after it.
                let stale = current.updated_at < last.updated_at;
                let same = (current.status, current.attempts) == (last.status, last.attempts);
                if stale || same {
                    continue;
                }
            }
            self.last = Some(current.clone());
            return Ok(Some(current));
        }
    }
}

/// Waits until the job finishes or `timeout` passes; returns the row as last seen (read
/// once more when it has finished, for what the event does not carry).
pub async fn await_finished(
    state: &AppState,
    id: Uuid,
    timeout: Duration,
) -> Result<Option<JobRow>, ApiError> {
    let mut watch = JobWatch::new(state, id);
    let waiting = async {
        loop {
            match watch.next_change().await? {
                Some(job) if job.status.is_finished() => return Ok(true),
                Some(_) => {}
                None => return Ok(false),
            }
        }
    };
    match tokio::time::timeout(timeout, waiting).await {
        Ok(Ok(false)) => Ok(None),
        Ok(Err(e)) => Err(e),
        Ok(Ok(true)) | Err(_) => load(state, id).await,
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
