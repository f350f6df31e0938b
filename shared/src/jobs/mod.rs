//! Job kinds, states, payloads and the queue that carries job ids to the workers.

mod announcing;
mod backlog;
pub mod daily_mail;
mod queue;
pub mod register_user;
pub mod registry;
pub mod resize_image;
pub mod send_mail;

pub use queue::{JobMessage, JobQueues, QueueError};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    RegisterUser,
    ResizeImage,
    SendMail,
    DailyMail,
}

impl JobKind {
    pub const ALL: [JobKind; 4] =
        [JobKind::RegisterUser, JobKind::ResizeImage, JobKind::SendMail, JobKind::DailyMail];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::RegisterUser => "register_user",
            JobKind::ResizeImage => "resize_image",
            JobKind::SendMail => "send_mail",
            JobKind::DailyMail => "daily_mail",
        }
    }
}

impl std::str::FromStr for JobKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or(())
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed)
    }
}

impl std::str::FromStr for JobStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [JobStatus::Queued, JobStatus::Running, JobStatus::Succeeded, JobStatus::Failed]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

/// Machine-readable reasons a job failed permanently; the API maps them to problem types.
pub mod error_codes {
    pub const USERNAME_TAKEN: &str = "username-taken";
    pub const EMAIL_TAKEN: &str = "email-taken";
    pub const INVALID_PAYLOAD: &str = "invalid-payload";
    pub const EXHAUSTED: &str = "retries-exhausted";
    pub const MAIL_REJECTED: &str = "mail-rejected";
    pub const IMAGE_UNREADABLE: &str = "image-unreadable";
    pub const IMAGE_MISSING: &str = "image-missing";
}
