//! The daily welcome mail: an admin's "run it now" (the same `daily_mail` job the schedule
//! starts), and the rule each `send_mail` job follows before it sends.

use std::time::Duration;

use dispatch_shared::db::id::Id;
use dispatch_shared::jobs::daily_mail::DailyMailPayload;
use dispatch_shared::jobs::JobKind;
use dispatch_shared::repo::welcome_mail::WelcomeRecipient;

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
        let (job, done) = self
            .jobs
            .enqueue_and_await(JobKind::DailyMail, Some(caller.id), Some(payload), wait, None)
            .await?;
        Ok(match done {
            Some(done) => Followed::Finished(done),
            None => Followed::Accepted { job },
        })
    }
}

/// What a `send_mail` job does with the welcome mail it carries, decided from its user's row
/// as it is now.
#[derive(Debug)]
pub enum WelcomeMailDue {
    /// The job holds the user's claim and the mail has not gone out: send it to them.
    Send(WelcomeRecipient),
    /// The mail was recorded as sent: a redelivered job must not send it twice.
    AlreadySent,
    /// The user was deactivated after the claim: give the claim back, so that a later run
    /// mails them if they are reactivated.
    Release,
    /// Nothing to send, for the reason given.
    Skip(&'static str),
}

/// Only the job that holds a user's claim sends, so two runs of the daily mail never mail
/// one user twice.
pub fn welcome_mail_due(recipient: Option<WelcomeRecipient>, job: Id) -> WelcomeMailDue {
    let Some(user) = recipient else {
        return WelcomeMailDue::Skip("the user no longer exists");
    };
    if user.welcome_mail_job_id != Some(job) {
        WelcomeMailDue::Skip("another job holds this user's welcome mail")
    } else if user.welcome_mail_sent_at.is_some() {
        WelcomeMailDue::AlreadySent
    } else if !user.is_active {
        WelcomeMailDue::Release
    } else {
        WelcomeMailDue::Send(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn claimed_by(job: Id) -> WelcomeRecipient {
        WelcomeRecipient {
            id: Uuid::new_v4().to_string(),
            username: "ada".into(),
            email: "ada@example.com".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            is_active: true,
            welcome_mail_job_id: Some(job),
            welcome_mail_sent_at: None,
        }
    }

    #[test]
    fn only_the_claiming_job_sends_to_an_active_unmailed_user() {
        let job = Id(Uuid::new_v4());
        let user = claimed_by(job);
        assert!(matches!(
            welcome_mail_due(Some(user.clone()), Id(Uuid::new_v4())),
            WelcomeMailDue::Skip(_)
        ));
        assert!(matches!(
            welcome_mail_due(Some(user), job),
            WelcomeMailDue::Send(to) if to.username == "ada"
        ));
        assert!(matches!(welcome_mail_due(None, job), WelcomeMailDue::Skip(_)));
    }

    #[test]
    fn a_sent_mail_is_not_sent_again_and_a_deactivated_user_gives_the_claim_back() {
        let job = Id(Uuid::new_v4());
        let mut sent = claimed_by(job);
        sent.welcome_mail_sent_at = Some(dispatch_shared::models::now_naive());
        assert!(matches!(welcome_mail_due(Some(sent), job), WelcomeMailDue::AlreadySent));
        let mut deactivated = claimed_by(job);
        deactivated.is_active = false;
        assert!(matches!(welcome_mail_due(Some(deactivated), job), WelcomeMailDue::Release));
    }
}
