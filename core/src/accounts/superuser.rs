//! The first admin account, created from the command line or at start-up.

use anyhow::Context;
use dispatch_shared::auth::hash_password;
use dispatch_shared::db::id::Id;
use dispatch_shared::db::DbPool;
use dispatch_shared::domain::{Email, Password, Username};
use dispatch_shared::models::{now_naive, NewUser};
use dispatch_shared::repo::users;
use uuid::Uuid;

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Created(Uuid),
    AlreadyExists,
}

/// Creates an active superuser unless the username or email is already taken.
pub async fn create_superuser(
    pool: &DbPool,
    username: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<Outcome> {
    let username = Username::parse(username).map_err(|e| anyhow::anyhow!("username: {e}"))?;
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
    let password =
        Password::parse(password, Some(&username)).map_err(|e| anyhow::anyhow!("password: {e}"))?;
    let mut conn = pool.get().await.context("DATABASE_URL: database unavailable")?;
    let (username_taken, email_taken) =
        users::taken(&mut conn, username.as_str(), email.as_str(), None).await?;
    if username_taken || email_taken {
        return Ok(Outcome::AlreadyExists);
    }
    drop(conn);
    let hash = hash_password(password).await?;
    let now = now_naive();
    let id = Uuid::new_v4();
    let user = NewUser {
        id: Id(id),
        username: username.as_str().to_owned(),
        email: email.as_str().to_owned(),
        first_name: String::new(),
        last_name: String::new(),
        password_hash: hash,
        is_active: true,
        is_superuser: true,
        date_joined: now,
        last_updated: now,
        last_login: None,
    };
    let mut conn = pool.get().await.context("DATABASE_URL: database unavailable")?;
    match users::insert(&mut conn, &user).await {
        Ok(()) => Ok(Outcome::Created(id)),
        // Another instance bootstrapped the same admin at the same moment.
        Err(e) if dispatch_shared::db::is_unique_violation(&e).is_some() => {
            Ok(Outcome::AlreadyExists)
        }
        Err(e) => Err(e.into()),
    }
}
