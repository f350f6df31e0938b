//! One module per job kind. A handler must be idempotent: running it twice for one job has
//! the effect of one run.

pub mod daily_mail;
pub mod register_user;
pub mod resize_image;
pub mod send_mail;

use dispatch_shared::jobs::{error_codes, JobKind};
use dispatch_shared::models::JobRow;

use crate::context::JobContext;
use crate::failure::JobFailure;

pub async fn run(
    ctx: &JobContext,
    kind: JobKind,
    job: &JobRow,
) -> Result<serde_json::Value, JobFailure> {
    match kind {
        JobKind::RegisterUser => register_user::run(ctx, job).await,
        JobKind::ResizeImage => resize_image::run(ctx, job).await,
        JobKind::DailyMail => daily_mail::run(ctx, job).await,
        JobKind::SendMail => send_mail::run(ctx, job).await,
    }
}

pub fn payload<T: serde::de::DeserializeOwned>(job: &JobRow) -> Result<T, JobFailure> {
    let raw = job.payload.as_deref().ok_or_else(|| {
        JobFailure::permanent(error_codes::INVALID_PAYLOAD, "the job has no payload")
    })?;
    serde_json::from_str(raw).map_err(|e| {
        JobFailure::permanent(
            error_codes::INVALID_PAYLOAD,
            format!("the job payload is invalid: {e}"),
        )
    })
}
