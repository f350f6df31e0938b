//! One module per job kind. A handler must be idempotent: running it twice for one job has
//! the effect of one run.

pub mod daily_mail;
pub mod register_user;
pub mod resize_image;
pub mod send_mail;

use diesel_async::AsyncMysqlConnection;
use dispatch_shared::db::compound::Statement;
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

/// Kinds whose every effect is rows in MySQL. Such a job is taken, run and finished in one
/// transaction (`crate::single_commit`); the others commit their claim before they start, as
/// their effects (files, mail) cannot be rolled back.
pub fn effects_only_in_mysql(kind: JobKind) -> bool {
    matches!(kind, JobKind::RegisterUser)
}

/// Runs a kind of `effects_only_in_mysql` on `conn`, inside the caller's transaction; `None`
/// for the other kinds.
pub async fn run_in_transaction(
    conn: &mut AsyncMysqlConnection,
    ctx: &JobContext,
    kind: JobKind,
    job: &JobRow,
) -> Option<Result<serde_json::Value, JobFailure>> {
    match kind {
        JobKind::RegisterUser => Some(register_user::run_on(conn, ctx, job).await),
        JobKind::ResizeImage | JobKind::DailyMail | JobKind::SendMail => None,
    }
}

/// The writes of a first run of these jobs, unsent, with the result each gives: for a caller
/// that sends them with its own statements in one round trip. `None` unless every job is of a
/// kind whose first run writes without reading first (registrations) and every payload reads;
/// each job then runs with `run_in_transaction`.
pub fn first_run_writes(
    ctx: &JobContext,
    jobs: &[(JobKind, JobRow)],
) -> Option<(Vec<serde_json::Value>, Vec<Statement<'static>>)> {
    if jobs.is_empty() || jobs.iter().any(|(kind, _)| *kind != JobKind::RegisterUser) {
        return None;
    }
    let rows: Vec<&JobRow> = jobs.iter().map(|(_, row)| row).collect();
    register_user::first_run_writes(ctx, &rows)
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
