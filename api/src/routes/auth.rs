use std::sync::Arc;

use poem::web::Data;

use poem::Request;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::error::{ApiError, ApiResult};
use crate::extract::auth::ACCESS_COOKIE;
use crate::extract::prefer::wait_preference;
use crate::extract::{AuthUser, JsonBody};
use crate::routes::ApiTags;
use crate::schemas::{JobAccepted, Tokens, User, UserWithTokens};
use crate::services::accounts::{self, LoginError, Registration, WaitOutcome};
use crate::services::sessions;
use crate::state::AppState;

pub struct AuthApi;

#[derive(Debug, Object)]
#[oai(example)]
pub struct RegisterRequest {
    /// 3–150 letters, digits or underscores; stored lower-case.
    pub username: String,
    pub email: String,
    /// 8–128 characters, not all digits, not the username.
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

impl poem_openapi::types::Example for RegisterRequest {
    fn example() -> Self {
        RegisterRequest {
            username: "ada".into(),
            email: "ada@example.com".into(),
            password: "analytical-engine".into(),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
        }
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct LoginRequest {
    /// The username or the email address.
    pub username: String,
    pub password: String,
}

impl poem_openapi::types::Example for LoginRequest {
    fn example() -> Self {
        LoginRequest {
            username: "ada".into(),
            password: "analytical-engine".into(),
        }
    }
}

#[derive(ApiResponse)]
pub enum RegisterResponse {
    /// Registration finished while the client waited (`Prefer: wait=N`).
    #[oai(status = 201)]
    Created(Json<UserWithTokens>),
    /// Registration is queued; follow the job.
    #[oai(status = 202)]
    Accepted(
        Json<JobAccepted>,
        #[oai(header = "Location")] String,
        #[oai(header = "Preference-Applied")] Option<String>,
    ),
}

#[derive(ApiResponse)]
pub enum LoginResponse {
    /// The user and a fresh token pair; the access token is also set as an HttpOnly cookie.
    #[oai(status = 200)]
    Ok(Json<UserWithTokens>, #[oai(header = "Set-Cookie")] String),
}

pub fn access_cookie(state: &AppState, token: &str) -> String {
    format!(
        "{ACCESS_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        state.tokens.access_ttl().as_secs()
    )
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthApi {
    /// Register a new account
    ///
    /// Validates at once (a taken username or email answers 409), then creates the account
    /// in a `register_user` job and answers 202 with the job. With `Prefer: wait=N`
    /// (N ≤ 30) the answer waits for the job: 201 with the user and tokens, or the job's
    /// error as a problem.
    #[oai(path = "/api/v1/auth/register/", method = "post")]
    async fn register(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        body: JsonBody<RegisterRequest>,
        /// `wait=N`: hold the response up to N seconds for the outcome.
        #[oai(name = "Prefer")]
        _prefer: Header<Option<String>>,
    ) -> ApiResult<RegisterResponse> {
        let body = body.0;
        let registration = Registration::parse(
            &body.username,
            &body.email,
            &body.password,
            body.first_name.as_deref(),
            body.last_name.as_deref(),
        )?;
        let job_id = accounts::register(state.0, registration).await?;
        let accepted = JobAccepted::new(job_id);
        let Some(wait) = wait_preference(request) else {
            let location = accepted.status_url.clone();
            return Ok(RegisterResponse::Accepted(Json(accepted), location, None));
        };
        match accounts::await_registration(state.0, job_id, wait).await? {
            WaitOutcome::Finished(user) => {
                let tokens = sessions::start(state.0, &user).await?;
                let user = user.view(state.0.settings.daily_task_limit).into();
                Ok(RegisterResponse::Created(Json(UserWithTokens {
                    user,
                    tokens,
                })))
            }
            WaitOutcome::Pending => {
                let location = accepted.status_url.clone();
                Ok(RegisterResponse::Accepted(
                    Json(accepted),
                    location,
                    Some(format!("wait={}", wait.as_secs())),
                ))
            }
        }
    }

    /// Log in
    ///
    /// With a username (or email) and password. Answers the user and a token pair, and sets
    /// the `access_token` cookie. Wrong credentials answer 401 whether or not the account
    /// exists; a deactivated account answers 403.
    #[oai(path = "/api/v1/auth/login/", method = "post")]
    async fn login(
        &self,
        state: Data<&Arc<AppState>>,
        body: JsonBody<LoginRequest>,
    ) -> ApiResult<LoginResponse> {
        let body = body.0;
        let mut errors = dispatch_shared::domain::ValidationErrors::new();
        if body.username.trim().is_empty() {
            errors.add("username", "This field may not be blank.");
        }
        if body.password.is_empty() {
            errors.add("password", "This field may not be blank.");
        }
        errors.into_result()?;
        let user =
            match accounts::check_credentials(state.0, &body.username, &body.password).await? {
                Ok(user) => user,
                Err(LoginError::BadCredentials) => {
                    return Err(ApiError::Unauthorized(
                        "No active account found with the given credentials.".into(),
                    ))
                }
                Err(LoginError::Inactive) => {
                    return Err(ApiError::Forbidden("This account is deactivated.".into()))
                }
            };
        let tokens: Tokens = sessions::start(state.0, &user).await?;
        let cookie = access_cookie(state.0, &tokens.access);
        let mut conn = state.0.db.get().await?;
        let fresh = dispatch_shared::repo::users::find(&mut conn, user.uuid())
            .await?
            .unwrap_or(user);
        let user: User = fresh.view(state.0.settings.daily_task_limit).into();
        Ok(LoginResponse::Ok(
            Json(UserWithTokens { user, tokens }),
            cookie,
        ))
    }

    /// The caller's profile
    #[oai(path = "/api/v1/auth/profile/", method = "get")]
    async fn profile(&self, state: Data<&Arc<AppState>>, auth: AuthUser) -> ApiResult<Json<User>> {
        Ok(Json(
            auth.user.view(state.0.settings.daily_task_limit).into(),
        ))
    }
}
