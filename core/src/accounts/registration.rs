//! Registration, as a job: checked and hashed here, inserted by a worker.

use std::net::IpAddr;
use std::time::Duration;

use chrono::NaiveDateTime;

use diesel_async::AsyncMysqlConnection;
use dispatch_shared::auth::hash_password;
use dispatch_shared::db::compound::Statement;
use dispatch_shared::db::id::Id;
use dispatch_shared::db::keep_prepared::keep_prepared_if;
use dispatch_shared::db::{is_unique_violation, DbPool};
use dispatch_shared::domain::{Email, Password, PersonName, Username, ValidationErrors};
use dispatch_shared::jobs::register_user::{FirstSession, RegisterUserPayload};
use dispatch_shared::jobs::JobKind;
use dispatch_shared::models::{now_naive, JobView, NewUser, UserRow, UserView};
use dispatch_shared::repo::jobs::Unless;
use dispatch_shared::repo::refresh_tokens::{self, RefreshTokenRow};
use dispatch_shared::repo::users;
use uuid::Uuid;

use super::sessions::{Session, Sessions};
use super::throttle::RateLimit;
use super::{AccountError, Taken};
use crate::jobs::{Admission, Followed, Jobs};
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
                Ok(Self { username, email, password, first_name, last_name })
            }
            _ => Err(errors),
        }
    }
}

/// How many times a registration is stored on the condition that no account holds its
/// names, when each refusal's holder is gone by the time it is looked up.
const ADMISSION_ATTEMPTS: usize = 3;

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
        Self { db, jobs, sessions, rate_limit, per_minute }
    }

    /// Hashes off the runtime, then stores the job in one statement with the check that no
    /// account holds the username or email, so a taken one is refused at once and nothing is
    /// stored; the worker's unique keys settle races between concurrent requests. Each
    /// client address has its registrations per minute, which bounds the hashes spent on
    /// refusals as it bounds those spent on new names. With `wait`, follows the job for that
    /// long and signs the new user in if it has succeeded. `job` is the id the job takes
    /// when every repeat of the request names the same one: a repeat whose job is stored
    /// already is answered with it, whatever became of it since.
    pub async fn register(
        &self,
        registration: Registration,
        address: IpAddr,
        wait: Option<Duration>,
        job: Option<Uuid>,
    ) -> Result<Registered, AccountError> {
        self.rate_limit.check("register", &address.to_string(), self.per_minute).await?;
        if let Some(id) = job {
            // Its answer was lost (the database went away after the job was stored); the
            // user it creates would now refuse the request as taken.
            if self.jobs.is_stored(id).await? {
                return Ok(Registered::Accepted { job: id });
            }
        }
        let Registration { username, email, password, first_name, last_name } = registration;
        let password_hash = hash_password(password).await.map_err(Failure::internal)?;
        // A request that waits signs the user in if the job finishes in time; its session
        // is written by the job, with the user.
        let first_session = match wait {
            Some(_) => Some(self.sessions.first_session()?),
            None => None,
        };
        let payload = RegisterUserPayload {
            user_id: Uuid::new_v4(),
            username: username.as_str().to_owned(),
            email: email.as_str().to_owned(),
            first_name: first_name.as_str().to_owned(),
            last_name: last_name.as_str().to_owned(),
            password_hash,
            first_session,
        };
        let payload = serde_json::to_string(&payload).map_err(Failure::internal)?;
        let unless = Unless::UserHolds { username: username.as_str(), email: email.as_str() };
        for _ in 0..ADMISSION_ATTEMPTS {
            let admission = self
                .jobs
                .enqueue_and_await_unless(
                    JobKind::RegisterUser,
                    None,
                    Some(payload.clone()),
                    wait,
                    job,
                    unless,
                )
                .await?;
            match admission {
                Admission::Stored { job, done } => {
                    return match (done, first_session) {
                        (Some(done), Some(session)) => {
                            Ok(Registered::Finished(Box::new(self.sign_in(done, &session)?)))
                        }
                        _ => Ok(Registered::Accepted { job }),
                    };
                }
                Admission::Refused => {
                    if let Some(taken) = self.taken(&username, &email).await? {
                        return Err(taken.into());
                    }
                    // The account that held it went away since: try again.
                }
            }
        }
        // Held and given up again at every attempt: a name someone is contending for.
        Err(Taken { username: true, email: false }.into())
    }

    /// Which of the two another account holds now.
    async fn taken(&self, username: &Username, email: &Email) -> Result<Option<Taken>, Failure> {
        let mut conn = self.db.get().await?;
        let (username, email) =
            users::taken(&mut conn, username.as_str(), email.as_str(), None).await?;
        Ok(Taken::of(username, email))
    }

    /// The new user's first session: the user the job's result describes, and tokens for the
    /// session the job stored with it.
    fn sign_in(&self, done: JobView, session: &FirstSession) -> Result<Session, AccountError> {
        let created: UserView = done
            .result
            .and_then(|r| serde_json::from_value(r).ok())
            .ok_or_else(|| Failure::internal(anyhow::anyhow!("registration result is no user")))?;
        self.sessions.resume_first(created, session)
    }
}

/// Why a registration job could not create its user.
#[derive(Debug, thiserror::Error)]
pub enum CompletionError {
    /// Another account took the name or the email after the request was checked.
    #[error(transparent)]
    Taken(#[from] Taken),
    #[error(transparent)]
    Failure(#[from] Failure),
}

crate::failures_convert_into!(CompletionError);

/// The registration job's rule: create the user the request checked. A second run of the
/// same job finds the user the first run created (the user id is the job's), so running it
/// again is harmless; a name or email taken since the request was checked refuses it.
/// Takes the connection so that it can share the transaction that finishes the job.
pub async fn complete(
    conn: &mut AsyncMysqlConnection,
    payload: &RegisterUserPayload,
) -> Result<UserRow, CompletionError> {
    let new_user = new_user(payload, now_naive());
    let refusal = match users::insert(conn, &new_user).await {
        Ok(()) => {
            if let Some(session) = session_row(payload) {
                refresh_tokens::insert_many(conn, std::slice::from_ref(&session)).await?;
            }
            // The insert knows the row it leaves: no read-back.
            return Ok(new_user.into_stored());
        }
        Err(e) => match is_unique_violation(&e) {
            Some(refusal) => refusal,
            None => return Err(CompletionError::Failure(e.into())),
        },
    };
    if let Some(existing) = users::find(conn, payload.user_id).await? {
        // A run that stored the user may not have stored its session (the general way
        // commits the user on its own).
        if let (Some(ids), Some(row)) = (payload.first_session, session_row(payload)) {
            if refresh_tokens::find(conn, ids.refresh_id).await?.is_none() {
                refresh_tokens::insert_many(conn, &[row]).await?;
            }
        }
        return Ok(existing);
    }
    let (username, email) = users::taken(conn, &payload.username, &payload.email, None).await?;
    // The read sees this transaction's snapshot, which may predate the row that refused
    // this one (committed by a concurrent transaction since), and the holder may have gone
    // since: the refusal itself names the key.
    let on_username = users::refused_on_username(&refusal);
    Err(Taken::of(username, email)
        .unwrap_or(Taken { username: on_username, email: !on_username })
        .into())
}

/// What a first run of these jobs writes when the database takes it all (no name or email
/// taken, no job run before): one insert of the users, in the payloads' order, and one of the
/// sessions of those that sign in. Unsent, so that the caller sends them with its own
/// statements in one round trip; the users they leave come with them. If the database
/// refuses them, the caller rolls back and settles each job with `complete`.
pub fn first_run(payloads: &[RegisterUserPayload]) -> (Vec<UserRow>, Vec<Statement<'static>>) {
    let now = now_naive();
    let new_users: Vec<NewUser> = payloads.iter().map(|p| new_user(p, now)).collect();
    let stored = new_users.iter().cloned().map(NewUser::into_stored).collect();
    let mut writes = vec![users::inserting(new_users)];
    let sessions: Vec<RefreshTokenRow> = payloads.iter().filter_map(session_row).collect();
    if !sessions.is_empty() {
        // A batch in which only some sign in is a shape of its own: prepared for its run and
        // closed, so that a connection keeps two shapes per batch size (all sign in, or none)
        // rather than one per count of sessions.
        let usual = sessions.len() == payloads.len();
        writes.push(Statement::new(keep_prepared_if(usual, refresh_tokens::inserting(sessions))));
    }
    (stored, writes)
}

/// The refresh-token row of the session a waiting request opens with the user.
fn session_row(payload: &RegisterUserPayload) -> Option<RefreshTokenRow> {
    payload
        .first_session
        .map(|s| RefreshTokenRow::issued(s.refresh_id, s.family, payload.user_id, s.expires_at))
}

fn new_user(payload: &RegisterUserPayload, now: NaiveDateTime) -> NewUser {
    NewUser {
        id: Id(payload.user_id),
        username: payload.username.clone(),
        email: payload.email.clone(),
        first_name: payload.first_name.clone(),
        last_name: payload.last_name.clone(),
        password_hash: payload.password_hash.clone(),
        is_active: true,
        is_superuser: false,
        date_joined: now,
        last_updated: now,
        // The waiting request's sign-in is the user's first login.
        last_login: payload.first_session.map(|_| now),
    }
}
