//! Assigning tasks to users per date, within each assignee's daily limit (DESIGN §6).

use chrono::NaiveDate;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use dispatch_shared::domain::Ordering;
use dispatch_shared::models::{now_naive, AssignmentRow};
use dispatch_shared::repo::assignments::{
    self, AssignOutcome, AssignmentFilter, AssignmentSort, Visibility,
};
use dispatch_shared::repo::listing::Window;
use dispatch_shared::repo::tasks;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::state::AppState;

pub struct NewAssignment {
    pub task_id: Uuid,
    pub user_id: Uuid,
    pub date: NaiveDate,
}

fn visibility(caller: &AuthUser) -> Visibility {
    if caller.is_admin() {
        Visibility::All
    } else {
        Visibility::InvolvedUser(caller.id)
    }
}

pub async fn create(
    state: &AppState,
    caller: &AuthUser,
    new: NewAssignment,
) -> Result<AssignmentRow, ApiError> {
    let mut conn = state.db.get().await?;
    let task = tasks::find_any(&mut conn, new.task_id).await?;
    // Someone else's task is, to this caller, no task at all.
    if !task.is_some_and(|t| t.owner() == caller.id || caller.is_admin()) {
        return Err(ApiError::NotFound);
    }
    let row = AssignmentRow {
        id: Uuid::new_v4().to_string(),
        task_id: new.task_id.to_string(),
        user_id: new.user_id.to_string(),
        date: new.date,
        created_at: now_naive(),
    };
    let outcome = assignments::assign(&mut conn, &row, state.settings.daily_task_limit).await;
    match outcome {
        Ok(AssignOutcome::Created) => Ok(row),
        Ok(AssignOutcome::AssigneeUnavailable) => {
            Err(ApiError::field("user_id", "No active user has this id."))
        }
        Ok(AssignOutcome::Duplicate) => Err(ApiError::Conflict {
            slug: "already-assigned",
            detail: format!(
                "This task is already assigned to this user on {}.",
                new.date
            ),
            errors: None,
        }),
        Ok(AssignOutcome::LimitReached { limit }) => Err(ApiError::Conflict {
            slug: "daily-limit-reached",
            detail: format!(
                "The user already has {limit} task(s) assigned on {}, their daily limit.",
                new.date
            ),
            errors: None,
        }),
        // The task (or the user) was deleted meanwhile.
        Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
            Err(ApiError::NotFound)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn list(
    state: &AppState,
    caller: &AuthUser,
    filter: &AssignmentFilter,
    ordering: &Ordering<AssignmentSort>,
    window: Window,
) -> Result<(Vec<AssignmentRow>, i64), ApiError> {
    let mut conn = state.db.get().await?;
    Ok(assignments::list(&mut conn, visibility(caller), filter, ordering, window).await?)
}

/// The task's owner, the assignee or an admin may delete; to anyone else it does not exist.
pub async fn delete(state: &AppState, caller: &AuthUser, id: Uuid) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    let Some((assignment, task_owner)) = assignments::find_with_task_owner(&mut conn, id).await?
    else {
        return Err(ApiError::NotFound);
    };
    let me = caller.id.to_string();
    if !(caller.is_admin() || assignment.user_id == me || task_owner == me) {
        return Err(ApiError::NotFound);
    }
    if !assignments::delete(&mut conn, id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(())
}
