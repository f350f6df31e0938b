//! `register_user`: creates the user a registration request checked, by the rule in
//! `dispatch_core::accounts::registration::complete`.

use diesel_async::AsyncMysqlConnection;
use dispatch_core::accounts::registration::{self, CompletionError};
use dispatch_shared::db::compound::Statement;
use dispatch_shared::jobs::error_codes;
use dispatch_shared::jobs::register_user::RegisterUserPayload;
use dispatch_shared::models::{JobRow, UserRow};

use crate::context::JobContext;
use crate::failure::JobFailure;

pub async fn run(ctx: &JobContext, job: &JobRow) -> Result<serde_json::Value, JobFailure> {
    let mut conn = ctx.db.get().await.map_err(JobFailure::transient)?;
    run_on(&mut conn, ctx, job).await
}

/// The run on `conn`, so that it can share the transaction that takes and finishes the job.
pub async fn run_on(
    conn: &mut AsyncMysqlConnection,
    ctx: &JobContext,
    job: &JobRow,
) -> Result<serde_json::Value, JobFailure> {
    let payload: RegisterUserPayload = super::payload(job)?;
    match registration::complete(conn, &payload).await {
        Ok(user) => Ok(result(ctx, &user)),
        Err(CompletionError::Taken(taken)) if taken.username => Err(JobFailure::permanent(
            error_codes::USERNAME_TAKEN,
            format!("A user with the username \"{}\" already exists.", payload.username),
        )),
        Err(CompletionError::Taken(_)) => Err(JobFailure::permanent(
            error_codes::EMAIL_TAKEN,
            "A user with that email already exists.",
        )),
        Err(CompletionError::Failure(failure)) => Err(failure.into()),
    }
}

/// The writes of a first run of these jobs, unsent (`registration::first_run`), with each
/// job's result; `None` if a payload does not read.
pub fn first_run_writes(
    ctx: &JobContext,
    jobs: &[&JobRow],
) -> Option<(Vec<serde_json::Value>, Vec<Statement<'static>>)> {
    let payloads: Vec<RegisterUserPayload> =
        jobs.iter().map(|job| super::payload(job)).collect::<Result<_, _>>().ok()?;
    let (users, writes) = registration::first_run(&payloads);
    Some((users.iter().map(|user| result(ctx, user)).collect(), writes))
}

/// What a successful run records: the user as the API shows it.
fn result(ctx: &JobContext, user: &UserRow) -> serde_json::Value {
    serde_json::to_value(user.view(ctx.settings.daily_task_limit)).unwrap_or_default()
}
