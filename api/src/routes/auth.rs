use std::sync::Arc;

use dispatch_shared::config::Environment;
use poem::web::Data;

use poem::Request;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use dispatch_core::accounts::registration::{Registered, Registration};
use dispatch_shared::domain::ValidationErrors;

use crate::error::ApiResult;
use crate::extract::auth::ACCESS_COOKIE;
use crate::extract::client_address::{came_over_https, client_address};
use crate::extract::prefer::wait_and_applied;
use crate::extract::{AuthUser, JsonBody};
use crate::idempotency::JobOfRequest;
use crate::routes::ApiTags;
use crate::schemas::{
    EmailText, JobAccepted, Message, NameText, NewPasswordText, Tokens, UserWithTokens,
    UsernameText,
};
use crate::state::AppState;

pub struct AuthApi;

#[derive(Debug, Object)]
#[oai(example)]
pub struct RegisterRequest {
    /// 3–150 letters, digits or underscores; stored lower-case.
    pub username: UsernameText,
    /// Stored lower-case.
    pub email: EmailText,
    /// 8–128 characters, not all digits, not the username.
    pub password: NewPasswordText,
    /// At most 150 characters.
    #[oai(nullable)]
    pub first_name: Option<NameText>,
    /// At most 150 characters.
    #[oai(nullable)]
    pub last_name: Option<NameText>,
}

impl poem_openapi::types::Example for RegisterRequest {
    fn example() -> Self {
        RegisterRequest {
            username: "ada".into(),
            email: EmailText("ada@example.com".into()),
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
    #[oai(validator(min_length = 1))]
    pub username: String,
    #[oai(validator(min_length = 1))]
    pub password: String,
}

impl poem_openapi::types::Example for LoginRequest {
    fn example() -> Self {
        LoginRequest { username: "ada".into(), password: "analytical-engine".into() }
    }
}

#[derive(ApiResponse)]
pub enum RegisterResponse {
    /// Registration finished while the client waited (`Prefer: wait=N`).
    #[oai(status = 201)]
    Created(Json<UserWithTokens>, #[oai(header = "Preference-Applied")] String),
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

#[derive(ApiResponse)]
pub enum RefreshResponse {
    /// The new token pair; the access token is also set as the HttpOnly cookie.
    #[oai(status = 200)]
    Ok(Json<Tokens>, #[oai(header = "Set-Cookie")] String),
}

pub fn access_cookie(state: &AppState, request: &Request, token: &str) -> String {
    format!(
        "{ACCESS_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        state.sessions.access_ttl().as_secs(),
        secure_attribute(state, request)
    )
}

/// The cookie is `Secure` in production mode (served behind TLS) and whenever the request
/// came over HTTPS, so it never travels in clear text where TLS is in use.
fn secure_attribute(state: &AppState, request: &Request) -> &'static str {
    let production = state.settings.environment == Environment::Production;
    if production || came_over_https(request, &state.settings.trusted_proxies) {
        "; Secure"
    } else {
        ""
    }
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthApi {
    /// Register a new account
    ///
    /// Validates at once (a taken username or email answers 409), then creates the account
    /// in a `register_user` job and answers 202 with the job. With `Prefer: wait=N`
    /// (N ≤ 30) the answer waits for the job: 201 with the user and tokens, or the job's
    /// error as a problem. Each client address may attempt `DISPATCH_REGISTRATION_LIMIT`
    /// registrations a minute (default 20); more answer 429 with `Retry-After`.
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
            &body.email.0,
            &body.password,
            body.first_name.as_deref(),
            body.last_name.as_deref(),
        )?;
        let address = client_address(request, &state.settings.trusted_proxies);
        let (wait, applied) = wait_and_applied(request);
        let job = JobOfRequest::of(request);
        let registered = state.registrations.register(registration, address, wait, job).await?;
        Ok(match registered {
            Registered::Finished(session) => {
                RegisterResponse::Created(Json((*session).into()), applied.unwrap_or_default())
            }
            Registered::Accepted { job } => {
                let (body, location) = JobAccepted::answer(job);
                RegisterResponse::Accepted(body, location, applied)
            }
        })
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
        request: &Request,
        body: JsonBody<LoginRequest>,
    ) -> ApiResult<LoginResponse> {
        let body = body.0;
        let mut errors = ValidationErrors::new();
        if body.username.trim().is_empty() {
            errors.add("username", "This field may not be blank.");
        }
        if body.password.is_empty() {
            errors.add("password", "This field may not be blank.");
        }
        errors.into_result()?;
        let address = client_address(request, &state.settings.trusted_proxies);
        let session = state.sessions.login(&body.username, &body.password, address).await?;
        let cookie = access_cookie(state.0, request, &session.tokens.access);
        Ok(LoginResponse::Ok(Json(session.into()), cookie))
    }

    /// Log out
    ///
    /// Revokes the given refresh token's login (`{"refresh": "…"}`) or every login of the
    /// user (`{"all": true}`), and clears the `access_token` cookie.
    #[oai(path = "/api/v1/auth/logout/", method = "post")]
    async fn logout(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        auth: AuthUser,
        body: JsonBody<LogoutRequest>,
    ) -> ApiResult<LogoutResponse> {
        let body = body.0;
        state.sessions.logout(&auth, body.refresh.as_deref(), body.all.unwrap_or(false)).await?;
        Ok(LogoutResponse::NoContent(format!(
            "{ACCESS_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
            secure_attribute(state.0, request)
        )))
    }

    /// Rotate a refresh token
    ///
    /// Answers a new access and refresh token; the old refresh token stops working. Presenting
    /// a refresh token that was already rotated revokes every token of that login. The new
    /// access token also replaces the `access_token` cookie, as at login.
    #[oai(path = "/api/v1/auth/token/refresh/", method = "post")]
    async fn refresh(
        &self,
        state: Data<&Arc<AppState>>,
        request: &Request,
        body: JsonBody<RefreshRequest>,
    ) -> ApiResult<RefreshResponse> {
        let tokens = state.sessions.refresh(&body.0.refresh).await?;
        let cookie = access_cookie(state.0, request, &tokens.access);
        Ok(RefreshResponse::Ok(Json(tokens.into()), cookie))
    }

    /// Verify a token
    ///
    /// 200 when the token (access or refresh) is genuine, unexpired, not revoked, and its user
    /// active; 401 otherwise.
    #[oai(path = "/api/v1/auth/token/verify/", method = "post")]
    async fn verify(
        &self,
        state: Data<&Arc<AppState>>,
        body: JsonBody<VerifyRequest>,
    ) -> ApiResult<Json<Message>> {
        state.sessions.verify(&body.0.token).await?;
        Ok(Json(Message { message: "Token is valid".into() }))
    }
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct LogoutRequest {
    /// The refresh token whose login ends.
    #[oai(nullable)]
    pub refresh: Option<String>,
    /// End every login of this user.
    #[oai(nullable)]
    pub all: Option<bool>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct RefreshRequest {
    pub refresh: String,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct VerifyRequest {
    pub token: String,
}

#[derive(ApiResponse)]
pub enum LogoutResponse {
    /// Logged out; the cookie is cleared.
    #[oai(status = 204)]
    NoContent(#[oai(header = "Set-Cookie")] String),
}

impl poem_openapi::types::Example for LogoutRequest {
    fn example() -> Self {
        Self { refresh: Some("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.<refresh>".into()), all: None }
    }
}

impl poem_openapi::types::Example for RefreshRequest {
    fn example() -> Self {
        Self { refresh: "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.<refresh>".into() }
    }
}

impl poem_openapi::types::Example for VerifyRequest {
    fn example() -> Self {
        Self { token: "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.<access>".into() }
    }
}
