//! An admin's "run the daily mail now": the same `daily_mail` job the schedule starts.

use std::time::Duration;

use dispatch_shared::jobs::daily_mail::DailyMailPayload;
use dispatch_shared::jobs::JobKind;

use crate::caller::NotAdmin;
use crate::jobs::{Followed, JobError, JobView, Jobs};
use crate::{Caller, Failure};

#[derive(Debug, thiserror::Error)]
pub enum DailyMailError {
    #[error(transparent)]
    NotAdmin(#[from] NotAdmin),
    /// The run failed, or could not be followed.
    #[error("daily mail: {0}")]
    Run(#[from] JobError),
    #[error(transparent)]
    Failure(#[from] Failure),
}

#[derive(Clone)]
pub struct DailyMail {
    jobs: Jobs,
}

impl DailyMail {
    pub fn new(jobs: Jobs) -> Self {
        Self { jobs }
    }

    /// Enqueues a run owned by the admin, who can then follow it and its `send_mail` jobs.
    /// With `wait`, follows the run for that long and answers it if it has succeeded.
    pub async fn start(
        &self,
        caller: &Caller,
        wait: Option<Duration>,
    ) -> Result<Followed<JobView>, DailyMailError> {
        caller.require_admin()?;
        let payload = serde_json::to_string(&DailyMailPayload {
            requested_by: Some(caller.id),
            scheduled_for: None,
        })
        .map_err(Failure::internal)?;
        let job = self
            .jobs
            .enqueue(JobKind::DailyMail, Some(caller.id), Some(payload))
            .await?;
        let Some(wait) = wait else {
            return Ok(Followed::Accepted { job });
        };
        Ok(match self.jobs.await_success(job, wait).await? {
            Some(done) => Followed::Finished(done),
            None => Followed::Accepted { job },
        })
    }
}
