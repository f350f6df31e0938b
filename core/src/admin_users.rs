//! The admin dashboard's users: list, read, change, delete. Only admins get here: every
//! operation checks the caller first, before it looks at anything the caller sent.

use dispatch_shared::db::DbPool;
use dispatch_shared::domain::{Email, PersonName, ValidationErrors};
use dispatch_shared::events::EventPublisher;
use dispatch_shared::models::UserView;
pub use dispatch_shared::repo::admin_users::UserSort;
use dispatch_shared::repo::admin_users::{self, AdminChanges, Guarded};
use dispatch_shared::repo::users;
use uuid::Uuid;

use crate::accounts::Taken;
use crate::caller::NotAdmin;
use crate::listing::{Listed, Ordering, Window};
use crate::reads::users::UserCache;
use crate::{Caller, Failure};

#[derive(Debug, thiserror::Error)]
pub enum AdminUserError {
    #[error(transparent)]
    NotAdmin(#[from] NotAdmin),
    #[error("no such user")]
    NotFound,
    #[error(transparent)]
    Taken(#[from] Taken),
    /// The change would leave no active admin.
    #[error("this would leave no active admin")]
    LastAdmin,
    #[error(transparent)]
    Failure(#[from] Failure),
}
crate::failures_convert_into!(AdminUserError);

fn email_taken() -> AdminUserError {
    Taken { username: false, email: true }.into()
}

fn guarded(outcome: Guarded) -> Result<(), AdminUserError> {
    match outcome {
        Guarded::Done => Ok(()),
        Guarded::NotFound => Err(AdminUserError::NotFound),
        Guarded::LastAdmin => Err(AdminUserError::LastAdmin),
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
        first_name: errors
            .check_given("first_name", raw.first_name, PersonName::parse)
            .map(|n| n.as_str().to_owned()),
        last_name: errors
            .check_given("last_name", raw.last_name, PersonName::parse)
            .map(|n| n.as_str().to_owned()),
        email: errors.check_given("email", raw.email, Email::parse).map(|e| e.as_str().to_owned()),
        last_updated: None,
    };
    errors.into_result().map(|_| changes)
}

#[derive(Clone)]
pub struct AdminUsers {
    db: DbPool,
    users: UserCache,
    publisher: EventPublisher,
    default_daily_limit: u32,
}

impl AdminUsers {
    pub fn new(
        db: DbPool,
        users: UserCache,
        publisher: EventPublisher,
        default_daily_limit: u32,
    ) -> Self {
        Self { db, users, publisher, default_daily_limit }
    }

    pub async fn list(
        &self,
        caller: &Caller,
        search: Option<&str>,
        ordering: &Ordering<UserSort>,
        window: Window,
    ) -> Result<Listed<UserView>, AdminUserError> {
        caller.require_admin()?;
        let mut conn = self.db.get().await?;
        let (rows, count) = admin_users::list(&mut conn, search, ordering, window).await?;
        Ok(Listed::of(rows, count, |u| u.view(self.default_daily_limit)))
    }

    pub async fn find(&self, caller: &Caller, id: Uuid) -> Result<UserView, AdminUserError> {
        caller.require_admin()?;
        let mut conn = self.db.get().await?;
        let user = users::find(&mut conn, id).await?.ok_or(AdminUserError::NotFound)?;
        Ok(user.view(self.default_daily_limit))
    }

    pub async fn update(
        &self,
        caller: &Caller,
        id: Uuid,
        changes: AdminChanges,
    ) -> Result<UserView, AdminUserError> {
        caller.require_admin()?;
        let mut conn = self.db.get().await?;
        if let Some(email) = changes.email.as_deref() {
            let (_, taken) = users::taken(&mut conn, "", email, Some(id)).await?;
            if taken {
                return Err(email_taken());
            }
        }
        let outcome = match admin_users::update(&mut conn, id, changes).await {
            Err(e) if dispatch_shared::db::is_unique_violation(&e).is_some() => {
                return Err(email_taken())
            }
            other => other?,
        };
        guarded(outcome)?;
        let user = users::find(&mut conn, id).await?.ok_or(AdminUserError::NotFound)?;
        drop(conn);
        // Every instance drops its copy: a deactivation takes effect at once, and open task
        // streams re-check their credentials.
        self.users.changed(&self.publisher, id).await;
        Ok(user.view(self.default_daily_limit))
    }

    pub async fn delete(&self, caller: &Caller, id: Uuid) -> Result<(), AdminUserError> {
        caller.require_admin()?;
        let mut conn = self.db.get().await?;
        guarded(admin_users::delete(&mut conn, id).await?)?;
        drop(conn);
        self.users.changed(&self.publisher, id).await;
        Ok(())
    }
}
