use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use dispatch_core::accounts::profile::{PasswordChange, ProfileUpdate, RawProfile};

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::routes::ApiTags;
use crate::schemas::{Detail, EmailText, NameText, NewPasswordText, User, UsernameText};
use crate::state::AppState;

pub struct ProfileApi;

#[derive(Debug, Object)]
#[oai(example)]
pub struct ProfileRequest {
    /// 3–150 letters, digits or underscores; stored lower-case.
    #[oai(nullable)]
    pub username: Option<UsernameText>,
    /// Stored lower-case.
    #[oai(nullable)]
    pub email: Option<EmailText>,
    /// At most 150 characters.
    #[oai(nullable)]
    pub first_name: Option<NameText>,
    /// At most 150 characters.
    #[oai(nullable)]
    pub last_name: Option<NameText>,
}

/// Every profile field (PUT): username and email are required; omitted names become empty.
#[derive(Debug, Object)]
#[oai(example)]
pub struct ProfileReplacement {
    /// 3–150 letters, digits or underscores; stored lower-case.
    pub username: UsernameText,
    /// Stored lower-case.
    pub email: EmailText,
    /// At most 150 characters.
    #[oai(nullable)]
    pub first_name: Option<NameText>,
    /// At most 150 characters.
    #[oai(nullable)]
    pub last_name: Option<NameText>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct PasswordChangeRequest {
    pub old_password: String,
    /// The new password (8–128 characters, not all digits, not the username).
    pub new_password_1: NewPasswordText,
    /// The new password again.
    pub new_password_2: String,
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// The account and everything it owned are gone.
    #[oai(status = 204)]
    NoContent,
}

impl ProfileRequest {
    fn raw(&self) -> RawProfile<'_> {
        RawProfile {
            username: self.username.as_deref(),
            email: self.email.as_ref().map(|e| e.0.as_str()),
            first_name: self.first_name.as_deref(),
            last_name: self.last_name.as_deref(),
        }
    }
}

#[OpenApi(tag = "ApiTags::Auth")]
impl ProfileApi {
    /// The caller's profile
    ///
    /// The authenticated user, from the bearer token or the `access_token` cookie.
    #[oai(path = "/api/v1/auth/profile/", method = "get")]
    async fn get(&self, state: Data<&Arc<AppState>>, auth: AuthUser) -> ApiResult<Json<User>> {
        Ok(Json(state.profiles.me(&auth).await?.into()))
    }

    /// Update some profile fields
    ///
    /// Any of username, email, first_name, last_name; the same validation as registration.
    /// A username or email taken by someone else answers 409 with `errors`.
    #[oai(path = "/api/v1/auth/profile/", method = "patch")]
    async fn patch(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        body: JsonBody<ProfileRequest>,
    ) -> ApiResult<Json<User>> {
        let update = ProfileUpdate::parse(body.0.raw(), false)?;
        Ok(Json(state.profiles.update(&auth, update).await?.into()))
    }

    /// Replace the profile
    ///
    /// username and email are required; omitted names become empty.
    #[oai(path = "/api/v1/auth/profile/", method = "put")]
    async fn put(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        body: JsonBody<ProfileReplacement>,
    ) -> ApiResult<Json<User>> {
        let body = body.0;
        let raw = RawProfile {
            username: Some(&body.username),
            email: Some(&body.email.0),
            first_name: body.first_name.as_deref(),
            last_name: body.last_name.as_deref(),
        };
        let update = ProfileUpdate::parse(raw, true)?;
        Ok(Json(state.profiles.update(&auth, update).await?.into()))
    }

    /// Delete the caller's account
    ///
    /// Its tokens stop working on every instance within seconds.
    #[oai(path = "/api/v1/auth/profile/", method = "delete")]
    async fn delete(&self, state: Data<&Arc<AppState>>, auth: AuthUser) -> ApiResult<Deleted> {
        state.profiles.delete(&auth).await?;
        Ok(Deleted::NoContent)
    }

    /// Change the password
    ///
    /// A wrong old password or two different new ones answer 400 with `errors`. Every refresh
    /// token of the account is revoked: other devices log in again.
    #[oai(path = "/api/v1/auth/profile/password/", method = "post")]
    async fn change_password(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AuthUser,
        body: JsonBody<PasswordChangeRequest>,
    ) -> ApiResult<Json<Detail>> {
        let body = body.0;
        let change = PasswordChange {
            old_password: &body.old_password,
            new_password_1: &body.new_password_1,
            new_password_2: &body.new_password_2,
        };
        state.profiles.change_password(&auth, change).await?;
        Ok(Json(Detail { detail: "password updated successfully".into() }))
    }
}

impl poem_openapi::types::Example for ProfileRequest {
    fn example() -> Self {
        Self {
            username: None,
            email: None,
            first_name: Some("Augusta Ada".into()),
            last_name: Some("King".into()),
        }
    }
}

impl poem_openapi::types::Example for PasswordChangeRequest {
    fn example() -> Self {
        Self {
            old_password: "analytical-engine".into(),
            new_password_1: "difference-engine".into(),
            new_password_2: "difference-engine".into(),
        }
    }
}

impl poem_openapi::types::Example for ProfileReplacement {
    fn example() -> Self {
        Self {
            username: "ada".into(),
            email: EmailText("ada@example.com".into()),
            first_name: Some("Augusta Ada".into()),
            last_name: Some("King".into()),
        }
    }
}
