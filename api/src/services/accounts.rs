//! Registration (as a job) and credential checks.

use std::net::IpAddr;
use std::time::Duration;

use dispatch_shared::auth::{hash_password, verify_password};
use dispatch_shared::domain::{Email, Password, PersonName, Username, ValidationErrors};
use dispatch_shared::jobs::register_user::RegisterUserPayload;
use dispatch_shared::jobs::JobKind;
use dispatch_shared::models::UserRow;
use dispatch_shared::repo::users;
use uuid::Uuid;

use crate::error::ApiError;
use crate::services::jobs;
use crate::services::throttle::account_key;
use crate::state::AppState;

pub struct Registration {
    pub username: Username,
    pub email: Email,
    pub password: Password,
    pub first_name: PersonName,
    pub last_name: PersonName,
}

impl Registration {
    pub fn parse(
        username: &str,
        email: &str,
        password: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let username = errors.check("username", Username::parse(username));
        let email = errors.check("email", Email::parse(email));
        let password = errors.check("password", Password::parse(password, username.as_ref()));
        let first_name = errors.check("first_name", PersonName::parse(first_name.unwrap_or("")));
        let last_name = errors.check("last_name", PersonName::parse(last_name.unwrap_or("")));
        match (username, email, password, first_name, last_name) {
            (Some(username), Some(email), Some(password), Some(first_name), Some(last_name))
                if errors.is_empty() =>
            {
                Ok(Self {
                    username,
                    email,
                    password,
                    first_name,
                    last_name,
                })
            }
            _ => Err(errors),
        }
    }
}

pub fn taken_conflict(username_taken: bool, email_taken: bool) -> ApiError {
    let mut errors = ValidationErrors::new();
    if username_taken {
        errors.add("username", "A user with that username already exists.");
    }
    if email_taken {
        errors.add("email", "A user with that email already exists.");
    }
    let slug = if username_taken {
        "username-taken"
    } else {
        "email-taken"
    };
    ApiError::Conflict {
        slug,
        detail: errors.to_string(),
        errors: Some(errors),
    }
}

/// Checks uniqueness now (the common case answers 409 at once), hashes off the runtime, and
/// enqueues the insert; the worker's unique keys settle races between concurrent requests.
/// Registers from `address`, within its registrations per minute.
pub async fn register(
    state: &AppState,
    registration: Registration,
    address: IpAddr,
) -> Result<Uuid, ApiError> {
    let limit = state.settings.registrations_per_minute;
    state
        .rate_limit
        .check("register", &address.to_string(), limit)
        .await?;
    {
        let mut conn = state.db.get().await?;
        let (username_taken, email_taken) = users::taken(
            &mut conn,
            registration.username.as_str(),
            registration.email.as_str(),
            None,
        )
        .await?;
        if username_taken || email_taken {
            return Err(taken_conflict(username_taken, email_taken));
        }
    }
    let password_hash = hash_password(registration.password)
        .await
        .map_err(ApiError::internal)?;
    let payload = RegisterUserPayload {
        user_id: Uuid::new_v4(),
        username: registration.username.as_str().to_owned(),
        email: registration.email.as_str().to_owned(),
        first_name: registration.first_name.as_str().to_owned(),
        last_name: registration.last_name.as_str().to_owned(),
        password_hash,
    };
    let payload = serde_json::to_string(&payload).map_err(ApiError::internal)?;
    jobs::enqueue(state, JobKind::RegisterUser, None, Some(payload)).await
}

pub enum WaitOutcome {
    Finished(Box<UserRow>),
    Pending,
}

/// Waits for a registration job; a success yields the new user, a failure its problem.
pub async fn await_registration(
    state: &AppState,
    job_id: Uuid,
    wait: Duration,
) -> Result<WaitOutcome, ApiError> {
    let Some(job) = jobs::await_success(state, job_id, wait).await? else {
        return Ok(WaitOutcome::Pending);
    };
    let user_id = job
        .view()
        .result
        .as_ref()
        .and_then(|r| r.get("id"))
        .and_then(|id| id.as_str())
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("registration result has no id")))?;
    let mut conn = state.db.get().await?;
    let user = users::find(&mut conn, user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(WaitOutcome::Finished(Box::new(user)))
}

/// Checks credentials under the login throttle. A wrong password and an unknown user get
/// the same answer after the same work; a deactivated account with the right password is 403.
pub async fn login(
    state: &AppState,
    login: &str,
    password: &str,
    address: IpAddr,
) -> Result<UserRow, ApiError> {
    let user = {
        let mut conn = state.db.get().await?;
        users::find_by_login(&mut conn, login).await?
    };
    let account = account_key(user.as_ref().map(UserRow::uuid), login);
    match state.throttle.blocked_for(&account, address).await {
        Ok(Some(retry_after)) => return Err(ApiError::TooManyRequests { retry_after }),
        Ok(None) => {}
        // Throttling must not take logins down with Redis.
        Err(e) => tracing::warn!(error = %e, "login throttle unavailable"),
    }
    let ok = verify_password(
        password.to_owned(),
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await
    .map_err(ApiError::internal)?;
    match user {
        Some(user) if ok => {
            if let Err(e) = state.throttle.record_success(&account).await {
                tracing::warn!(error = %e, "login throttle unavailable");
            }
            if user.is_active {
                Ok(user)
            } else {
                Err(ApiError::Forbidden("This account is deactivated.".into()))
            }
        }
        _ => {
            if let Err(e) = state.throttle.record_failure(&account, address).await {
                tracing::warn!(error = %e, "login throttle unavailable");
            }
            Err(ApiError::Unauthorized(
                "No active account found with the given credentials.".into(),
            ))
        }
    }
}
