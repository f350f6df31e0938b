//! Accounts: registration (as a job), logins and their token families, and the caller's own
//! profile.

pub mod profile;
pub mod registration;
pub mod sessions;
pub mod superuser;
pub mod throttle;
mod verified_tokens;

use dispatch_shared::domain::ValidationErrors;
pub use dispatch_shared::models::UserView;

use crate::jobs::JobError;
use crate::Failure;
use sessions::Unauthenticated;
use throttle::TooManyAttempts;

/// A username or an email that another account holds.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("taken: username {username}, email {email}")]
pub struct Taken {
    pub username: bool,
    pub email: bool,
}

impl Taken {
    /// `None` when neither is taken.
    pub fn of(username: bool, email: bool) -> Option<Self> {
        (username || email).then_some(Self { username, email })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    TooManyAttempts(#[from] TooManyAttempts),
    #[error(transparent)]
    Taken(#[from] Taken),
    /// Wrong password or unknown login: the same answer for both.
    #[error("no active account with these credentials")]
    BadCredentials,
    #[error("this account is deactivated")]
    Deactivated,
    #[error(transparent)]
    Unauthenticated(#[from] Unauthenticated),
    /// The refresh token is invalid, expired, rotated or revoked.
    #[error("the refresh token is not usable")]
    RefreshRefused,
    /// The token (access or refresh) is invalid, expired, or its user is gone or changed.
    #[error("the token is not valid")]
    TokenRefused,
    /// Fields the request carried that the rule refused, by field.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationErrors),
    /// The registration job failed, or could not be followed.
    #[error("registration: {0}")]
    Registration(#[from] JobError),
    /// The registered account was deleted before its creator could sign in.
    #[error("the registered account is gone")]
    Gone,
    #[error(transparent)]
    Failure(#[from] Failure),
}
crate::failures_convert_into!(AccountError);
