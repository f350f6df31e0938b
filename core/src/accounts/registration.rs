//! Registration, as a job: checked and hashed here, inserted by a worker.

use std::net::IpAddr;
use std::time::Duration;

use dispatch_shared::auth::hash_password;
use dispatch_shared::db::DbPool;
use dispatch_shared::domain::{Email, Password, PersonName, Username, ValidationErrors};
use dispatch_shared::jobs::register_user::RegisterUserPayload;
use dispatch_shared::jobs::JobKind;
use dispatch_shared::repo::users;
use uuid::Uuid;

use super::sessions::{Session, Sessions};
use super::throttle::RateLimit;
use super::{AccountError, Taken};
use crate::jobs::{Followed, Jobs};
use crate::Failure;

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

/// A registration as its client sees it: the job to follow, or the new user signed in.
pub type Registered = Followed<Box<Session>>;

#[derive(Clone)]
pub struct Registrations {
    db: DbPool,
    jobs: Jobs,
    sessions: Sessions,
    rate_limit: RateLimit,
    per_minute: u32,
}

impl Registrations {
    pub fn new(
        db: DbPool,
        jobs: Jobs,
        sessions: Sessions,
        rate_limit: RateLimit,
        per_minute: u32,
    ) -> Self {
        Self {
            db,
            jobs,
            sessions,
            rate_limit,
            per_minute,
        }
    }

    /// Checks uniqueness now (the common case is refused at once), hashes off the runtime,
    /// and enqueues the insert; the worker's unique keys settle races between concurrent
    /// requests. Each client address has its registrations per minute. With `wait`, follows
    /// the job for that long and signs the new user in if it has succeeded.
    pub async fn register(
        &self,
        registration: Registration,
        address: IpAddr,
        wait: Option<Duration>,
    ) -> Result<Registered, AccountError> {
        self.rate_limit
            .check("register", &address.to_string(), self.per_minute)
            .await?;
        {
            let mut conn = self.db.get().await?;
            let (username, email) = users::taken(
                &mut conn,
                registration.username.as_str(),
                registration.email.as_str(),
                None,
            )
            .await?;
            if let Some(taken) = Taken::of(username, email) {
                return Err(taken.into());
            }
        }
        let password_hash = hash_password(registration.password)
            .await
            .map_err(Failure::internal)?;
        let payload = RegisterUserPayload {
            user_id: Uuid::new_v4(),
            username: registration.username.as_str().to_owned(),
            email: registration.email.as_str().to_owned(),
            first_name: registration.first_name.as_str().to_owned(),
            last_name: registration.last_name.as_str().to_owned(),
            password_hash,
        };
        let payload = serde_json::to_string(&payload).map_err(Failure::internal)?;
        let job = self
            .jobs
            .enqueue(JobKind::RegisterUser, None, Some(payload))
            .await?;
        match wait {
            None => Ok(Registered::Accepted { job }),
            Some(wait) => self.signed_in_when_done(job, wait).await,
        }
    }

    async fn signed_in_when_done(
        &self,
        job: Uuid,
        wait: Duration,
    ) -> Result<Registered, AccountError> {
        let Some(done) = self.jobs.await_success(job, wait).await? else {
            return Ok(Registered::Accepted { job });
        };
        let user_id = done
            .result
            .as_ref()
            .and_then(|r| r.get("id"))
            .and_then(|id| id.as_str())
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| Failure::internal(anyhow::anyhow!("registration result has no id")))?;
        let user = {
            let mut conn = self.db.get().await?;
            users::find(&mut conn, user_id)
                .await?
                .ok_or(AccountError::Gone)?
        };
        Ok(Registered::Finished(Box::new(
            self.sessions.start(&user).await?,
        )))
    }
}
