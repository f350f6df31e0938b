use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::id::Id;
use crate::db::schema::jobs;
use crate::jobs::{JobKind, JobStatus};

// Insertable only to write several finished rows back in one statement
// (`repo::jobs::finishing`); a `None` is a bound NULL, so the SQL has one shape.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Insertable)]
#[diesel(table_name = jobs)]
#[diesel(check_for_backend(diesel::mysql::Mysql))]
#[diesel(treat_none_as_default_value = false)]
pub struct JobRow {
    pub id: Id,
    pub kind: String,
    pub status: String,
    pub attempts: u32,
    pub owner_id: Option<Id>,
    pub payload: Option<String>,
    pub result: Option<String>,
    pub error: Option<String>,
    pub error_code: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub enqueued_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    /// The `X-Request-Id` of the request that started the job, if a request did.
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob {
    pub id: Id,
    pub kind: String,
    pub status: String,
    pub attempts: u32,
    pub owner_id: Option<Id>,
    pub payload: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub enqueued_at: NaiveDateTime,
    pub request_id: Option<String>,
}

impl NewJob {
    /// The job as its insert leaves it.
    pub fn view(&self) -> JobView {
        JobView {
            id: self.id.0,
            kind: self.kind.parse().unwrap_or(JobKind::RegisterUser),
            status: JobStatus::Queued,
            attempts: self.attempts,
            result: None,
            error: None,
            created_at: super::utc(self.created_at),
            updated_at: super::utc(self.updated_at),
            finished_at: None,
        }
    }
}

/// The public job resource (api.md §2). It is also the body of every job event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobView {
    pub id: Uuid,
    pub kind: JobKind,
    pub status: JobStatus,
    pub attempts: u32,
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl JobRow {
    /// Whether a run may take the job now: the condition `repo::jobs::claim` writes in SQL.
    pub fn claimable(&self, now: NaiveDateTime) -> bool {
        self.status == JobStatus::Queued.as_str()
            || (self.status == JobStatus::Running.as_str()
                && self.lease_until.is_some_and(|lease| lease < now))
    }

    /// The job as a run that took it at `now` holds it, as `repo::jobs::claim` leaves it
    /// (without the lease, which a run inside one transaction does not need).
    pub fn started(mut self, now: NaiveDateTime) -> JobRow {
        self.status = JobStatus::Running.as_str().to_owned();
        self.attempts += 1;
        self.lease_until = None;
        self.updated_at = now;
        self
    }

    /// The job succeeded at `at` with `result` (written by `repo::jobs::finish`).
    pub fn succeeded(mut self, result: &serde_json::Value, at: NaiveDateTime) -> JobRow {
        self.status = JobStatus::Succeeded.as_str().to_owned();
        self.result = Some(result.to_string());
        self.error = None;
        self.error_code = None;
        self.payload = None;
        self.lease_until = None;
        self.updated_at = at;
        self.finished_at = Some(at);
        self
    }

    /// The job failed for good at `at` (written by `repo::jobs::finish`). Its payload stays
    /// until the row is purged, so an admin can put the job back in the queue.
    pub fn failed(mut self, error: &str, code: &str, at: NaiveDateTime) -> JobRow {
        self.status = JobStatus::Failed.as_str().to_owned();
        self.error = Some(error.to_owned());
        self.error_code = Some(code.to_owned());
        self.lease_until = None;
        self.updated_at = at;
        self.finished_at = Some(at);
        self
    }

    pub fn uuid(&self) -> Uuid {
        self.id.0
    }

    pub fn owner(&self) -> Option<Uuid> {
        self.owner_id.map(Uuid::from)
    }

    pub fn status(&self) -> JobStatus {
        self.status.parse().unwrap_or(JobStatus::Failed)
    }

    pub fn kind(&self) -> Option<JobKind> {
        self.kind.parse().ok()
    }

    pub fn is_finished(&self) -> bool {
        self.status().is_finished()
    }

    pub fn view(&self) -> JobView {
        JobView {
            id: self.uuid(),
            kind: self.kind().unwrap_or(JobKind::RegisterUser),
            status: self.status(),
            attempts: self.attempts,
            result: self.result.as_deref().and_then(|r| serde_json::from_str(r).ok()),
            error: self.error.clone(),
            created_at: super::utc(self.created_at),
            updated_at: super::utc(self.updated_at),
            finished_at: self.finished_at.map(super::utc),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::now_naive;
    use crate::repo::jobs::new_job;

    fn queued() -> JobRow {
        let job = new_job(JobKind::RegisterUser, None, Some("{}".into()), None);
        JobRow {
            id: job.id,
            kind: job.kind,
            status: job.status,
            attempts: job.attempts,
            owner_id: job.owner_id,
            payload: job.payload,
            result: None,
            error: None,
            error_code: None,
            created_at: job.created_at,
            updated_at: job.updated_at,
            finished_at: None,
            enqueued_at: job.enqueued_at,
            lease_until: None,
            request_id: job.request_id,
        }
    }

    #[test]
    fn a_run_may_take_a_queued_job_or_one_whose_lease_ran_out() {
        let now = now_naive();
        let second = chrono::Duration::seconds(1);
        let job = queued();
        assert!(job.claimable(now));
        let mut held = job.clone().started(now);
        held.lease_until = Some(now + second);
        assert!(!held.claimable(now), "a live lease keeps the job");
        held.lease_until = Some(now - second);
        assert!(held.claimable(now), "an expired lease frees it");
        let done = job.succeeded(&serde_json::json!({}), now);
        assert!(!done.claimable(now), "a finished job is never run again");
    }

    #[test]
    fn a_started_job_counts_the_attempt() {
        let now = now_naive();
        let running = queued().started(now);
        assert_eq!(running.status, JobStatus::Running.as_str());
        assert_eq!((running.attempts, running.updated_at), (1, now));
        assert_eq!(running.started(now).attempts, 2);
    }
}
