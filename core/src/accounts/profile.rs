//! The caller's own account: edit, delete, change the password.

use dispatch_shared::auth::{hash_password, verify_password};
use dispatch_shared::db::DbPool;
use dispatch_shared::domain::{Email, Password, PersonName, Username, ValidationErrors};
use dispatch_shared::events::EventPublisher;
use dispatch_shared::models::UserView;
use dispatch_shared::repo::{refresh_tokens, users};

use super::throttle::{RateLimit, TooManyAttempts, PASSWORD_CHANGES_PER_MINUTE};
use super::Taken;
use crate::reads::users::UserCache;
use crate::{Caller, Failure};

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Taken(#[from] Taken),
    #[error(transparent)]
    TooManyAttempts(#[from] TooManyAttempts),
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationErrors),
    /// The caller's account was deleted meanwhile.
    #[error("the account is gone")]
    Gone,
    #[error(transparent)]
    Failure(#[from] Failure),
}
crate::failures_convert_into!(ProfileError);

/// A password change as the client sent it.
pub struct PasswordChange<'a> {
    pub old_password: &'a str,
    pub new_password_1: &'a str,
    pub new_password_2: &'a str,
}

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
            username: errors.check_given("username", raw.username, Username::parse),
            email: errors.check_given("email", raw.email, Email::parse),
            first_name: errors.check_given(
                "first_name",
                raw.first_name.or(names_default),
                PersonName::parse,
            ),
            last_name: errors.check_given(
                "last_name",
                raw.last_name.or(names_default),
                PersonName::parse,
            ),
        };
        errors.into_result().map(|_| update)
    }
}

#[derive(Clone)]
pub struct Profiles {
    db: DbPool,
    users: UserCache,
    publisher: EventPublisher,
    rate_limit: RateLimit,
    default_daily_limit: u32,
}

impl Profiles {
    pub fn new(
        db: DbPool,
        users: UserCache,
        publisher: EventPublisher,
        rate_limit: RateLimit,
        default_daily_limit: u32,
    ) -> Self {
        Self { db, users, publisher, rate_limit, default_daily_limit }
    }

    /// The caller's account (the authentication just read it, so this is a cache hit).
    pub async fn me(&self, caller: &Caller) -> Result<UserView, ProfileError> {
        let user = self.users.get(caller.id).await?.ok_or(ProfileError::Gone)?;
        Ok(user.view(self.default_daily_limit))
    }

    pub async fn update(
        &self,
        caller: &Caller,
        update: ProfileUpdate,
    ) -> Result<UserView, ProfileError> {
        let mut conn = self.db.get().await?;
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
            if let Some(taken) = Taken::of(username_taken, email_taken) {
                return Err(taken.into());
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
                return Err(Taken { username: u, email: m || !u }.into());
            }
            Err(e) => return Err(e.into()),
        }
        let fresh = users::find(&mut conn, caller.id).await?.ok_or(ProfileError::Gone)?;
        drop(conn);
        self.users.changed(&self.publisher, caller.id).await;
        Ok(fresh.view(self.default_daily_limit))
    }

    pub async fn delete(&self, caller: &Caller) -> Result<(), ProfileError> {
        let mut conn = self.db.get().await?;
        users::delete(&mut conn, caller.id).await?;
        drop(conn);
        self.users.changed(&self.publisher, caller.id).await;
        Ok(())
    }

    /// Checks the old password and sets the new one. Other logins' refresh tokens are
    /// revoked so a leaked password stops being useful beyond the access tokens' short life.
    pub async fn change_password(
        &self,
        caller: &Caller,
        change: PasswordChange<'_>,
    ) -> Result<(), ProfileError> {
        self.rate_limit
            .check("password", &caller.id.to_string(), PASSWORD_CHANGES_PER_MINUTE)
            .await?;
        let account = self.users.get(caller.id).await?.ok_or(ProfileError::Gone)?;
        let mut errors = ValidationErrors::new();
        let username = Username::parse(&account.username).ok();
        let new_password = errors
            .check("new_password_1", Password::parse(change.new_password_1, username.as_ref()));
        if change.new_password_1 != change.new_password_2 {
            errors.add("new_password_2", "The two password fields didn't match.");
        }
        let old_ok =
            verify_password(change.old_password.to_owned(), Some(account.password_hash.clone()))
                .await
                .map_err(Failure::internal)?;
        if !old_ok {
            errors.add("old_password", "Your old password was entered incorrectly.");
        }
        errors.into_result()?;
        let Some(new_password) = new_password else {
            return Err(ValidationErrors::single("new_password_1", "Invalid password.").into());
        };
        let hash = hash_password(new_password).await.map_err(Failure::internal)?;
        let mut conn = self.db.get().await?;
        users::set_password_hash(&mut conn, caller.id, &hash).await?;
        refresh_tokens::revoke_all_for_user(&mut conn, caller.id).await?;
        drop(conn);
        self.users.changed(&self.publisher, caller.id).await;
        Ok(())
    }
}
