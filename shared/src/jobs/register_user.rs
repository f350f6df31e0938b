//! `register_user`: the API validated and hashed; the worker inserts the user.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Stored in the job row (never in Redis) and cleared once the job has finished.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterUserPayload {
    /// Chosen by the API so that a second run of the job recognises its own user.
    pub user_id: Uuid,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub password_hash: String,
    /// The session a request that waits for the outcome signs the new user in with. It is
    /// written with the user, in the job's own transaction, so the answer needs no write of
    /// its own; the request signs its tokens with these ids. Absent: no session, and no login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_session: Option<FirstSession>,
}

/// The refresh-token row of a new user's first session. Ids, not tokens: only the API's key
/// makes a token of them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct FirstSession {
    pub refresh_id: Uuid,
    pub family: Uuid,
    pub expires_at: NaiveDateTime,
}
