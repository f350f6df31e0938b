//! `register_user`: the API validated and hashed; the worker inserts the user.

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
}
