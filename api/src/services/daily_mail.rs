//! An admin's "run the daily mail now": the same `daily_mail` job the schedule starts.

use dispatch_shared::jobs::daily_mail::DailyMailPayload;
use dispatch_shared::jobs::JobKind;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::services::admin_users::require_admin;
use crate::services::jobs;
use crate::state::AppState;

/// Enqueues a run owned by `admin`, who can then follow it and its `send_mail` jobs.
pub async fn start(state: &AppState, admin: &AuthUser) -> Result<Uuid, ApiError> {
    require_admin(admin)?;
    let payload = serde_json::to_string(&DailyMailPayload {
        requested_by: Some(admin.id),
        scheduled_for: None,
    })
    .map_err(ApiError::internal)?;
    jobs::enqueue(state, JobKind::DailyMail, Some(admin.id), Some(payload)).await
}
