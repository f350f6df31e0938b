//! What operators see and do (admins only): each job kind's queue, every job, the live
//! workers, and a failed job put back in the queue.

use dispatch_shared::db::DbPool;
use dispatch_shared::events::{Event, EventPublisher};
use dispatch_shared::jobs::registry::{self, WorkerBeat};
use dispatch_shared::jobs::JobKind;
use dispatch_shared::models::utc;
use dispatch_shared::repo::job_operations::{self, Requeue};
pub use dispatch_shared::repo::job_operations::{JobFilter, JobSort};
use redis::aio::ConnectionManager;
use uuid::Uuid;

use crate::caller::NotAdmin;
use crate::jobs::{JobView, Jobs};
use crate::listing::{Listed, Ordering, Window};
use crate::{Caller, Failure};

/// A live worker instance, as it last reported itself.
pub type WorkerView = WorkerBeat;

#[derive(Debug, thiserror::Error)]
pub enum OperationsError {
    #[error(transparent)]
    NotAdmin(#[from] NotAdmin),
    #[error("no such job")]
    NotFound,
    /// Only a failed job can be retried.
    #[error("the job has not failed")]
    NotFailed,
    #[error(transparent)]
    Failure(#[from] Failure),
}
crate::failures_convert_into!(OperationsError);

/// Jobs of one kind finished within one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteCount {
    pub minute: chrono::DateTime<chrono::Utc>,
    pub kind: String,
    pub finished: u64,
}

/// How far back the throughput goes.
pub const THROUGHPUT_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);

/// One job kind's queue, counted from the job rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueView {
    pub kind: JobKind,
    pub queued: u64,
    pub running: u64,
    pub failed_last_24h: u64,
    pub succeeded_last_24h: u64,
    /// How long the oldest queued job has waited; `None` when nothing waits.
    pub oldest_queued_seconds: Option<u64>,
    /// Live worker instances that take this kind.
    pub workers: u64,
}

#[derive(Clone)]
pub struct JobOperations {
    db: DbPool,
    redis: ConnectionManager,
    namespace: String,
    jobs: Jobs,
    publisher: EventPublisher,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl JobOperations {
    pub fn new(
        db: DbPool,
        redis: ConnectionManager,
        namespace: &str,
        jobs: Jobs,
        publisher: EventPublisher,
    ) -> Self {
        Self { db, redis, namespace: namespace.to_owned(), jobs, publisher }
    }

    pub async fn queues(&self, caller: &Caller) -> Result<Vec<QueueView>, OperationsError> {
        caller.require_admin()?;
        let counts = {
            let mut conn = self.db.get().await?;
            job_operations::counts_by_kind(&mut conn).await?
        };
        let workers = registry::live(&self.redis, &self.namespace).await?;
        let now = chrono::Utc::now();
        Ok(counts
            .into_iter()
            .map(|c| QueueView {
                kind: c.waiting.kind,
                queued: count(c.waiting.queued),
                running: count(c.waiting.running),
                failed_last_24h: count(c.failed_recently),
                succeeded_last_24h: count(c.succeeded_recently),
                oldest_queued_seconds: c
                    .waiting
                    .oldest_queued
                    .map(|at| count((now - utc(at)).num_seconds().max(0))),
                workers: workers
                    .iter()
                    .filter(|w| w.kinds.iter().any(|k| k == c.waiting.kind.as_str()))
                    .count() as u64,
            })
            .collect())
    }

    /// Every job, whoever started it.
    pub async fn jobs(
        &self,
        caller: &Caller,
        filter: &JobFilter,
        ordering: &Ordering<JobSort>,
        window: Window,
    ) -> Result<Listed<JobView>, OperationsError> {
        caller.require_admin()?;
        let mut conn = self.db.get().await?;
        let (rows, total) = job_operations::list(&mut conn, filter, ordering, window).await?;
        Ok(Listed::of(rows, total, |row| row.view()))
    }

    /// Jobs finished per minute and kind over the last hour (minutes without any left out).
    pub async fn throughput(&self, caller: &Caller) -> Result<Vec<MinuteCount>, OperationsError> {
        caller.require_admin()?;
        let since = dispatch_shared::models::ago(THROUGHPUT_WINDOW);
        let mut conn = self.db.get().await?;
        let minutes = job_operations::finished_per_minute(&mut conn, since).await?;
        Ok(minutes
            .into_iter()
            .map(|m| MinuteCount {
                minute: utc(m.minute),
                kind: m.kind,
                finished: count(m.finished),
            })
            .collect())
    }

    pub async fn workers(&self, caller: &Caller) -> Result<Vec<WorkerView>, OperationsError> {
        caller.require_admin()?;
        Ok(registry::live(&self.redis, &self.namespace).await?)
    }

    /// A failed job queued again under its id (error cleared, attempts kept). Its row is
    /// the record, so the job is accepted even while Redis is down: the reconciler pushes it.
    pub async fn retry(&self, caller: &Caller, id: Uuid) -> Result<JobView, OperationsError> {
        caller.require_admin()?;
        let outcome = {
            let mut conn = self.db.get().await?;
            job_operations::requeue_failed(&mut conn, id).await?
        };
        let row = match outcome {
            Requeue::Requeued(row) => row,
            Requeue::NotFailed => return Err(OperationsError::NotFailed),
            Requeue::NotFound => return Err(OperationsError::NotFound),
        };
        let view = row.view();
        // Followers (sockets, `Prefer: wait`) see it queued again, then run.
        self.publisher.publish(&Event::Job(view.clone())).await;
        if let Some(kind) = row.kind() {
            self.jobs.wake(kind, id).await;
        }
        tracing::info!(job_id = %id, admin = %caller.id, "failed job queued again");
        Ok(view)
    }
}
