//! The admin dashboard's users (DESIGN §4, reference 000): list, read, change, delete.

use dispatch_shared::domain::{Email, Ordering, PersonName, ValidationErrors};
use dispatch_shared::models::UserRow;
use dispatch_shared::repo::admin_users::{self, AdminChanges, Guarded, UserSort};
use dispatch_shared::repo::listing::Window;
use dispatch_shared::repo::users;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::state::AppState;

pub fn require_admin(caller: &AuthUser) -> Result<(), ApiError> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Only admins may do this.".into()))
    }
}

pub struct RawAdminChanges<'a> {
    pub is_active: Option<bool>,
    pub is_superuser: Option<bool>,
    pub daily_task_limit: Option<u32>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub email: Option<&'a str>,
}

pub fn parse_changes(raw: RawAdminChanges<'_>) -> Result<AdminChanges, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let changes = AdminChanges {
        is_active: raw.is_active,
        is_superuser: raw.is_superuser,
        daily_task_limit: raw.daily_task_limit,
        first_name: raw
            .first_name
            .and_then(|v| errors.check("first_name", PersonName::parse(v)))
            .map(|n| n.as_str().to_owned()),
        last_name: raw
            .last_name
            .and_then(|v| errors.check("last_name", PersonName::parse(v)))
            .map(|n| n.as_str().to_owned()),
        email: raw
            .email
            .and_then(|v| errors.check("email", Email::parse(v)))
            .map(|e| e.as_str().to_owned()),
        last_updated: None,
    };
    errors.into_result().map(|_| changes)
}

fn last_admin() -> ApiError {
    ApiError::Conflict {
        slug: "last-admin",
        detail: "This would leave no active admin; make another user an admin first.".into(),
        errors: None,
    }
}

pub async fn list(
    state: &AppState,
    search: Option<&str>,
    ordering: &Ordering<UserSort>,
    window: Window,
) -> Result<(Vec<UserRow>, i64), ApiError> {
    let mut conn = state.db.get().await?;
    Ok(admin_users::list(&mut conn, search, ordering, window).await?)
}

pub async fn find(state: &AppState, id: Uuid) -> Result<UserRow, ApiError> {
    let mut conn = state.db.get().await?;
    users::find(&mut conn, id).await?.ok_or(ApiError::NotFound)
}

pub async fn update(
    state: &AppState,
    id: Uuid,
    changes: AdminChanges,
) -> Result<UserRow, ApiError> {
    let mut conn = state.db.get().await?;
    if let Some(email) = changes.email.as_deref() {
        let (_, taken) = users::taken(&mut conn, "", email, Some(id)).await?;
        if taken {
            return Err(crate::services::accounts::taken_conflict(false, true));
        }
    }
    let outcome = match admin_users::update(&mut conn, id, changes).await {
        Err(e) if dispatch_shared::db::is_unique_violation(&e).is_some() => {
            return Err(crate::services::accounts::taken_conflict(false, true))
        }
        other => other?,
    };
    match outcome {
        Guarded::Done => {}
        Guarded::NotFound => return Err(ApiError::NotFound),
        Guarded::LastAdmin => return Err(last_admin()),
    }
    let user = users::find(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    drop(conn);
    // Every instance drops its copy: a deactivation takes effect at once, and open task
    // streams re-check their credentials.
    state.users.changed(&state.publisher, id).await;
    Ok(user)
}

pub async fn delete(state: &AppState, id: Uuid) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    match admin_users::delete(&mut conn, id).await? {
        Guarded::Done => {}
        Guarded::NotFound => return Err(ApiError::NotFound),
        Guarded::LastAdmin => return Err(last_admin()),
    }
    drop(conn);
    state.users.changed(&state.publisher, id).await;
    Ok(())
}
