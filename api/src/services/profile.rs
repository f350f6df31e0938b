//! The caller's own account: edit, delete, change the password.

use dispatch_shared::auth::{hash_password, verify_password};
use dispatch_shared::domain::{Email, Password, PersonName, Username, ValidationErrors};
use dispatch_shared::models::UserRow;
use dispatch_shared::repo::{refresh_tokens, users};

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::services::accounts::taken_conflict;
use crate::services::throttle::PASSWORD_CHANGES_PER_MINUTE;
use crate::state::AppState;

#[derive(Default)]
pub struct ProfileUpdate {
    pub username: Option<Username>,
    pub email: Option<Email>,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
}

pub struct RawProfile<'a> {
    pub username: Option<&'a str>,
    pub email: Option<&'a str>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
}

impl ProfileUpdate {
    /// `full` (PUT) requires username and email and resets omitted names to empty.
    pub fn parse(raw: RawProfile<'_>, full: bool) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if full {
            for (field, value) in [("username", raw.username), ("email", raw.email)] {
                if value.is_none() {
                    errors.add(field, "This field is required.");
                }
            }
        }
        let names_default = if full { Some("") } else { None };
        let update = Self {
            username: raw
                .username
                .and_then(|v| errors.check("username", Username::parse(v))),
            email: raw
                .email
                .and_then(|v| errors.check("email", Email::parse(v))),
            first_name: raw
                .first_name
                .or(names_default)
                .and_then(|v| errors.check("first_name", PersonName::parse(v))),
            last_name: raw
                .last_name
                .or(names_default)
                .and_then(|v| errors.check("last_name", PersonName::parse(v))),
        };
        errors.into_result().map(|_| update)
    }
}

pub async fn update(
    state: &AppState,
    caller: &AuthUser,
    update: ProfileUpdate,
) -> Result<UserRow, ApiError> {
    let mut conn = state.db.get().await?;
    let username = update.username.as_ref().map(|u| u.as_str().to_owned());
    let email = update.email.as_ref().map(|e| e.as_str().to_owned());
    if username.is_some() || email.is_some() {
        let (username_taken, email_taken) = users::taken(
            &mut conn,
            username.as_deref().unwrap_or(""),
            email.as_deref().unwrap_or(""),
            Some(caller.id),
        )
        .await?;
        if username_taken || email_taken {
            return Err(taken_conflict(username_taken, email_taken));
        }
    }
    let changes = users::ProfileChanges {
        username: username.clone(),
        email: email.clone(),
        first_name: update.first_name.map(|n| n.as_str().to_owned()),
        last_name: update.last_name.map(|n| n.as_str().to_owned()),
        last_updated: None,
    };
    match users::update_profile(&mut conn, caller.id, changes).await {
        Ok(()) => {}
        Err(e) if dispatch_shared::db::is_unique_violation(&e).is_some() => {
            // Taken between the check and the update: find out which one.
            let (u, m) = users::taken(
                &mut conn,
                username.as_deref().unwrap_or(""),
                email.as_deref().unwrap_or(""),
                Some(caller.id),
            )
            .await?;
            return Err(taken_conflict(u, m || !u));
        }
        Err(e) => return Err(e.into()),
    }
    let fresh = users::find(&mut conn, caller.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    drop(conn);
    state.users.changed(&state.publisher, caller.id).await;
    Ok(fresh)
}

pub async fn delete(state: &AppState, caller: &AuthUser) -> Result<(), ApiError> {
    let mut conn = state.db.get().await?;
    users::delete(&mut conn, caller.id).await?;
    drop(conn);
    state.users.changed(&state.publisher, caller.id).await;
    Ok(())
}

/// Checks the old password and sets the new one. Other logins' refresh tokens are revoked so
/// a leaked password stops being useful beyond the access tokens' short life.
pub async fn change_password(
    state: &AppState,
    caller: &AuthUser,
    old_password: &str,
    new_password_1: &str,
    new_password_2: &str,
) -> Result<(), ApiError> {
    state
        .rate_limit
        .check(
            "password",
            &caller.id.to_string(),
            PASSWORD_CHANGES_PER_MINUTE,
        )
        .await?;
    let mut errors = ValidationErrors::new();
    let username = Username::parse(&caller.user.username).ok();
    let new_password = errors.check(
        "new_password_1",
        Password::parse(new_password_1, username.as_ref()),
    );
    if new_password_1 != new_password_2 {
        errors.add("new_password_2", "The two password fields didn't match.");
    }
    let old_ok = verify_password(
        old_password.to_owned(),
        Some(caller.user.password_hash.clone()),
    )
    .await
    .map_err(ApiError::internal)?;
    if !old_ok {
        errors.add("old_password", "Your old password was entered incorrectly.");
    }
    errors.into_result()?;
    let Some(new_password) = new_password else {
        return Err(ApiError::field("new_password_1", "Invalid password."));
    };
    let hash = hash_password(new_password)
        .await
        .map_err(ApiError::internal)?;
    let mut conn = state.db.get().await?;
    users::set_password_hash(&mut conn, caller.id, &hash).await?;
    refresh_tokens::revoke_all_for_user(&mut conn, caller.id).await?;
    drop(conn);
    state.users.changed(&state.publisher, caller.id).await;
    Ok(())
}
