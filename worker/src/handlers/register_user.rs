use diesel_async::AsyncMysqlConnection;
use dispatch_shared::db::id::Id;
use dispatch_shared::db::is_unique_violation;
use dispatch_shared::jobs::error_codes;
use dispatch_shared::jobs::register_user::RegisterUserPayload;
use dispatch_shared::models::{now_naive, JobRow, NewUser, UserRow};
use dispatch_shared::repo::users;

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

    let now = now_naive();
    let new_user = NewUser {
        id: Id(payload.user_id),
        username: payload.username.clone(),
        email: payload.email.clone(),
        first_name: payload.first_name.clone(),
        last_name: payload.last_name.clone(),
        password_hash: payload.password_hash.clone(),
        is_active: true,
        is_superuser: false,
        date_joined: now,
        last_updated: now,
    };
    match users::insert(conn, &new_user).await {
        // The insert knows the row it leaves: no read-back.
        Ok(()) => Ok(view(ctx, &new_user.into_stored())),
        Err(e) if is_unique_violation(&e).is_some() => {
            // A second run of the same job finds the user the first run created (the id is
            // the job's); otherwise the name or email was taken meanwhile.
            if let Some(existing) = users::find(conn, payload.user_id).await? {
                return Ok(view(ctx, &existing));
            }
            let (username_taken, _) =
                users::taken(conn, &payload.username, &payload.email, None).await?;
            Err(if username_taken {
                JobFailure::permanent(
                    error_codes::USERNAME_TAKEN,
                    format!(
                        "A user with the username \"{}\" already exists.",
                        payload.username
                    ),
                )
            } else {
                JobFailure::permanent(
                    error_codes::EMAIL_TAKEN,
                    "A user with that email already exists.",
                )
            })
        }
        Err(e) => Err(e.into()),
    }
}

fn view(ctx: &JobContext, user: &UserRow) -> serde_json::Value {
    serde_json::to_value(user.view(ctx.settings.daily_task_limit)).unwrap_or_default()
}
