//! Jobs as their followers see them: enqueue, read, acknowledge, list, and follow one to
//! its end (by waiting, or change by change for a socket).

use std::time::Duration;

use dispatch_shared::db::id::Id;
use dispatch_shared::db::{is_unique_violation, DbPool};
use dispatch_shared::events::{FollowedJob, Heard, JobFollowers};
use dispatch_shared::jobs::{error_codes, JobKind, JobQueues, JobStatus};
pub use dispatch_shared::models::JobView;
use dispatch_shared::models::{JobRow, NewJob};
use dispatch_shared::repo::jobs::{self, Unless};
use uuid::Uuid;

use crate::listing::{Listed, Window};
use crate::{Caller, Failure};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// No such job, or not one this caller may see.
    #[error("no such job")]
    NotFound,
    /// The job ended in failure; what it means to the client that waited for it.
    #[error("the job failed: {0}")]
    Failed(JobFailure),
    #[error(transparent)]
    Failure(#[from] Failure),
}
crate::failures_convert_into!(JobError);

/// Why a job failed, in the terms its requester acts on.
#[derive(Debug, thiserror::Error)]
pub enum JobFailure {
    #[error("{0}")]
    UsernameTaken(String),
    #[error("{0}")]
    EmailTaken(String),
    #[error("{0}")]
    ImageUnreadable(String),
    /// Retries ran out, or the worker cannot see the media root: an outage, not the input.
    #[error("{0}")]
    NotDone(String),
    #[error("job {id} failed: {message}")]
    Other { id: Uuid, message: String },
}

impl JobFailure {
    fn of(job: &JobRow) -> Self {
        let message = job.error.clone().unwrap_or_else(|| "The job failed.".into());
        match job.error_code.as_deref() {
            Some(error_codes::USERNAME_TAKEN) => JobFailure::UsernameTaken(message),
            Some(error_codes::EMAIL_TAKEN) => JobFailure::EmailTaken(message),
            Some(error_codes::IMAGE_UNREADABLE) => JobFailure::ImageUnreadable(message),
            Some(error_codes::EXHAUSTED | error_codes::IMAGE_MISSING) => {
                JobFailure::NotDone(message)
            }
            _ => JobFailure::Other { id: job.uuid(), message },
        }
    }
}

/// A request served by a job, as its client sees it once the wait it allowed is over.
#[derive(Debug)]
pub enum Followed<T> {
    /// The job is queued or running; follow it by its id.
    Accepted { job: Uuid },
    /// The job succeeded within the wait: its outcome.
    Finished(T),
}

/// A queued row for a job of `kind`, with the id `id` when the request names one.
fn new_row(
    kind: JobKind,
    owner: Option<Uuid>,
    payload: Option<String>,
    id: Option<Uuid>,
) -> NewJob {
    let mut job = jobs::new_job(kind, owner, payload, crate::correlation::current());
    if let Some(id) = id {
        job.id = Id(id);
    }
    job
}

/// The job if `caller` may see it: their own, any for admins, and ownerless ones (whose id
/// is the capability) for anyone.
fn visible_to(job: &JobRow, caller: Option<&Caller>) -> bool {
    match job.owner() {
        None => true,
        Some(owner) => caller.is_some_and(|c| c.id == owner || c.is_admin),
    }
}

/// Where an enqueued job's row came from.
enum Stored {
    Now,
    /// An earlier request with the same job id stored it.
    Before,
}

/// What became of a job enqueued on a condition (`Jobs::enqueue_and_await_unless`).
#[derive(Debug)]
pub enum Admission {
    /// Its row is stored: its id, and its view if it succeeded within the wait.
    Stored { job: Uuid, done: Option<JobView> },
    /// What the condition names exists; nothing was stored.
    Refused,
}

#[derive(Clone)]
pub struct Jobs {
    db: DbPool,
    /// Sessions that read committed rows without locking them: the conditional inserts.
    admissions: DbPool,
    queues: JobQueues,
    /// Every instance's and worker's job events, as this process hears them.
    followers: JobFollowers,
}

impl Jobs {
    pub fn new(db: DbPool, admissions: DbPool, queues: JobQueues, followers: JobFollowers) -> Self {
        Self { db, admissions, queues, followers }
    }

    /// Writes the row (the durable record), then wakes a worker through Redis. If Redis is
    /// down the job is still accepted: the reconciler pushes it once Redis is back.
    pub async fn enqueue(
        &self,
        kind: JobKind,
        owner: Option<Uuid>,
        payload: Option<String>,
    ) -> Result<Uuid, Failure> {
        let job = jobs::new_job(kind, owner, payload, crate::correlation::current());
        self.store_and_wake(kind, &job).await?;
        Ok(job.id.0)
    }

    /// Enqueues a job and, given a `wait`, follows it for that long: its id, and its view
    /// once it has succeeded within the wait; its problem once it has failed. The watch
    /// starts before the insert, from the row as inserted, so a job that succeeds costs its
    /// follower no read of the row. The job takes the id `id` if given (a request whose
    /// repeats name one job); if that job is stored already, it is answered as it is, not
    /// followed.
    pub async fn enqueue_and_await(
        &self,
        kind: JobKind,
        owner: Option<Uuid>,
        payload: Option<String>,
        wait: Option<Duration>,
        id: Option<Uuid>,
    ) -> Result<(Uuid, Option<JobView>), JobError> {
        let job = new_row(kind, owner, payload, id);
        let watch = self.watch_if_waiting(&job, wait);
        let stored = self.store_and_wake(kind, &job).await?;
        Ok((job.id.0, self.follow(watch, stored).await?))
    }

    /// `enqueue_and_await`, storing the job only if what `unless` names does not exist when
    /// the row is inserted: the check and the insert are one statement.
    pub async fn enqueue_and_await_unless(
        &self,
        kind: JobKind,
        owner: Option<Uuid>,
        payload: Option<String>,
        wait: Option<Duration>,
        id: Option<Uuid>,
        unless: Unless<'_>,
    ) -> Result<Admission, JobError> {
        let job = new_row(kind, owner, payload, id);
        let watch = self.watch_if_waiting(&job, wait);
        let inserted = {
            let mut conn = self.admissions.get().await?;
            jobs::insert_unless(&mut conn, &job, unless).await
        };
        if let Ok(false) = inserted {
            return Ok(Admission::Refused);
        }
        let stored = self.wake_once_stored(kind, &job, inserted.map(|_| ())).await?;
        Ok(Admission::Stored { job: job.id.0, done: self.follow(watch, stored).await? })
    }

    /// With a `wait`, a watch on `job` from before its insert, starting from the row as
    /// inserted: a job that succeeds costs its follower no read of the row.
    fn watch_if_waiting(
        &self,
        job: &NewJob,
        wait: Option<Duration>,
    ) -> Option<(JobWatch<'_>, Duration)> {
        wait.map(|wait| (JobWatch::new(self, job.id.0).starting_from(job.view()), wait))
    }

    /// The job's view once it has succeeded within the watch's wait. A job an earlier
    /// request stored is answered as it is, not followed.
    async fn follow(
        &self,
        watch: Option<(JobWatch<'_>, Duration)>,
        stored: Stored,
    ) -> Result<Option<JobView>, JobError> {
        match (watch, stored) {
            (Some((watch, wait)), Stored::Now) => self.await_success_of(watch, wait).await,
            _ => Ok(None),
        }
    }

    async fn store_and_wake(&self, kind: JobKind, job: &NewJob) -> Result<Stored, Failure> {
        let inserted = {
            let mut conn = self.db.get().await?;
            jobs::insert(&mut conn, job).await
        };
        self.wake_once_stored(kind, job, inserted).await
    }

    /// Wakes a worker for `job` once its insert has stored it, or found it stored.
    async fn wake_once_stored(
        &self,
        kind: JobKind,
        job: &NewJob,
        inserted: diesel::QueryResult<()>,
    ) -> Result<Stored, Failure> {
        let stored = match inserted {
            Ok(()) => Stored::Now,
            // The id is the only unique key: a repeat of the request that stored it. Waking
            // a worker for it again is harmless (a run finds it taken or finished), and
            // makes up for a wake-up the first request may not have sent.
            Err(e) if is_unique_violation(&e).is_some() => Stored::Before,
            Err(e) => return Err(e.into()),
        };
        self.wake(kind, job.id.0).await;
        if let Stored::Now = stored {
            metrics::counter!("dispatch_jobs_enqueued_total", "kind" => kind.as_str()).increment(1);
        }
        Ok(stored)
    }

    /// Whether job `id` is stored, whoever may see it.
    pub async fn is_stored(&self, id: Uuid) -> Result<bool, Failure> {
        Ok(self.load(id).await?.is_some())
    }

    /// Tells a worker that job `id` is queued. The row is the record: if Redis cannot take
    /// the message now, the reconciler pushes it once Redis is back.
    pub async fn wake(&self, kind: JobKind, id: Uuid) {
        if let Err(e) = self.queues.push(kind, id).await {
            tracing::warn!(job_id = %id, error = %e, "job stored but not pushed; the reconciler will push it");
        }
    }

    async fn find_row(&self, id: Uuid, caller: Option<&Caller>) -> Result<JobRow, JobError> {
        let mut conn = self.db.get().await?;
        match jobs::find(&mut conn, id).await? {
            Some(job) if visible_to(&job, caller) => Ok(job),
            _ => Err(JobError::NotFound),
        }
    }

    pub async fn find(&self, id: Uuid, caller: Option<&Caller>) -> Result<JobView, JobError> {
        Ok(self.find_row(id, caller).await?.view())
    }

    /// Removes the row; its followers see it gone.
    pub async fn acknowledge(&self, id: Uuid, caller: Option<&Caller>) -> Result<(), JobError> {
        self.find_row(id, caller).await?;
        let mut conn = self.db.get().await?;
        jobs::delete(&mut conn, id).await?;
        Ok(())
    }

    /// The caller's own jobs, newest first.
    pub async fn list(&self, caller: &Caller, window: Window) -> Result<Listed<JobView>, Failure> {
        let mut conn = self.db.get().await?;
        let (rows, count) = jobs::list_for_owner(&mut conn, caller.id, window).await?;
        Ok(Listed::of(rows, count, |r| r.view()))
    }

    async fn load(&self, id: Uuid) -> Result<Option<JobRow>, Failure> {
        let mut conn = self.db.get().await?;
        Ok(jobs::find(&mut conn, id).await?)
    }
}

// Pub/sub is the fast path; this re-read covers a lost event or a Redis restart.
pub const RECHECK_EVERY: Duration = Duration::from_secs(2);

/// Follows one job: yields it as it stands, then each change (status or attempts) until it
/// finishes. Every instance hears every worker's events, and an event carries the row as
/// the worker left it, so a change costs no read; a periodic re-read of the row makes a lost
/// event cost a delay, never the outcome.
pub struct JobWatch<'a> {
    jobs: &'a Jobs,
    id: Uuid,
    events: FollowedJob,
    seed: Option<JobView>,
    last: Option<JobView>,
}

impl<'a> JobWatch<'a> {
    /// Subscribes before the first read, so no change between the read and the wait is lost.
    pub fn new(jobs: &'a Jobs, id: Uuid) -> Self {
        Self { events: jobs.followers.follow(id), jobs, id, seed: None, last: None }
    }

    /// The first change is `job`, read by the caller after `new` (so no read is repeated).
    pub fn starting_from(mut self, job: JobView) -> Self {
        self.seed = Some(job);
        self
    }

    async fn read(&self) -> Result<Option<JobView>, Failure> {
        Ok(self.jobs.load(self.id).await?.map(|row| row.view()))
    }

    /// The job now (first call), then its next change; `None` once the row is gone.
    pub async fn next_change(&mut self) -> Result<Option<JobView>, Failure> {
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
                    heard = self.events.next() => match heard {
                        Heard::Change(view) => Some(view),
                        Heard::Missed => self.read().await?,
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

impl Jobs {
    /// Follows one job change by change (see `JobWatch`).
    pub fn watch(&self, id: Uuid) -> JobWatch<'_> {
        JobWatch::new(self, id)
    }

    /// For `Prefer: wait`: the job once it has succeeded, its problem once it has failed, or
    /// `None` while it is still queued or running after `timeout`.
    pub async fn await_success(
        &self,
        id: Uuid,
        timeout: Duration,
    ) -> Result<Option<JobView>, JobError> {
        self.await_success_of(JobWatch::new(self, id), timeout).await
    }

    async fn await_success_of(
        &self,
        mut watch: JobWatch<'_>,
        timeout: Duration,
    ) -> Result<Option<JobView>, JobError> {
        let id = watch.id;
        let finished = async {
            loop {
                match watch.next_change().await? {
                    Some(job) if job.status.is_finished() => return Ok(Some(job)),
                    Some(_) => {}
                    None => return Ok(None),
                }
            }
        };
        match tokio::time::timeout(timeout, finished).await {
            Ok(Ok(None)) => return Ok(None),
            Ok(Err(e)) => return Err(JobError::Failure(e)),
            // An event carries all a success needs.
            Ok(Ok(Some(job))) if job.status == JobStatus::Succeeded => return Ok(Some(job)),
            // A failure's code, and where a job stands when the wait ran out, are in the row.
            Ok(Ok(Some(_))) | Err(_) => {}
        }
        match self.load(id).await? {
            Some(job) if job.status() == JobStatus::Succeeded => Ok(Some(job.view())),
            Some(job) if job.status() == JobStatus::Failed => {
                Err(JobError::Failed(JobFailure::of(&job)))
            }
            _ => Ok(None),
        }
    }
}
