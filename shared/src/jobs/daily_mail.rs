//! `daily_mail`: finds the users due for the welcome mail, claims them and enqueues one
//! `send_mail` job each.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Stored in the job row. A run with no payload is a plain run started by nobody.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DailyMailPayload {
    /// The admin who asked for the run; the `send_mail` jobs are theirs to follow.
    #[serde(default)]
    pub requested_by: Option<Uuid>,
    /// The schedule firing this run stands for (UTC), when the schedule started it.
    #[serde(default)]
    pub scheduled_for: Option<NaiveDateTime>,
}

/// What a finished run reports.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DailyMailResult {
    /// Users claimed by this run, each with a `send_mail` job.
    pub enqueued: u64,
    /// Joined before this moment (UTC) to be eligible.
    pub joined_before: NaiveDateTime,
}
