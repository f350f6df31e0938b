//! The bodies of requests and responses as the OpenAPI spec documents them. Each response
//! shape is converted from its use case's view here, and only here.

use chrono::{DateTime, Utc};
use dispatch_core::accounts::sessions::{Session, TokenPair};
use dispatch_core::accounts::UserView;
use dispatch_core::jobs::JobView;
use poem_openapi::Object;
use uuid::Uuid;

/// A user (public shape).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct User {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub email: String,
    pub date_joined: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    #[oai(nullable)]
    pub last_login: Option<DateTime<Utc>>,
    pub is_active: bool,
    pub is_superuser: bool,
    /// The effective number of assignments allowed per day.
    pub daily_task_limit: u32,
}

impl poem_openapi::types::Example for User {
    fn example() -> Self {
        let at = DateTime::parse_from_rfc3339("2026-11-22T08:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        User {
            id: Uuid::nil(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            username: "ada".into(),
            email: "ada@example.com".into(),
            date_joined: at,
            last_updated: at,
            last_login: None,
            is_active: true,
            is_superuser: false,
            daily_task_limit: 5,
        }
    }
}

impl From<UserView> for User {
    fn from(v: UserView) -> Self {
        Self {
            id: v.id,
            first_name: v.first_name,
            last_name: v.last_name,
            username: v.username,
            email: v.email,
            date_joined: v.date_joined,
            last_updated: v.last_updated,
            last_login: v.last_login,
            is_active: v.is_active,
            is_superuser: v.is_superuser,
            daily_task_limit: v.daily_task_limit,
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Tokens {
    /// Short-lived JWT for `Authorization: Bearer …`.
    pub access: String,
    /// Long-lived JWT for `/api/v1/auth/token/refresh/`; rotated on every use.
    pub refresh: String,
}

impl From<TokenPair> for Tokens {
    fn from(pair: TokenPair) -> Self {
        Self { access: pair.access, refresh: pair.refresh }
    }
}

impl From<Session> for UserWithTokens {
    fn from(session: Session) -> Self {
        Self { user: session.user.into(), tokens: session.tokens.into() }
    }
}

/// A user together with a fresh pair of tokens (login, and registration with `Prefer: wait`).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct UserWithTokens {
    #[oai(flatten)]
    pub user: User,
    pub tokens: Tokens,
}

/// A background job and its outcome.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Job {
    pub id: Uuid,
    /// register_user, resize_image, send_mail or daily_mail.
    pub kind: String,
    /// queued, running, succeeded or failed.
    pub status: String,
    /// Runs started so far.
    pub attempts: u32,
    /// The outcome of a succeeded job (for register_user, the new user).
    #[oai(nullable)]
    pub result: Option<serde_json::Value>,
    /// Why the job failed, in words.
    #[oai(nullable)]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[oai(nullable)]
    pub finished_at: Option<DateTime<Utc>>,
}

impl poem_openapi::types::Example for Job {
    fn example() -> Self {
        let at = DateTime::parse_from_rfc3339("2026-11-22T08:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        Job {
            id: Uuid::nil(),
            kind: "register_user".into(),
            status: "succeeded".into(),
            attempts: 1,
            result: Some(serde_json::json!({"id": Uuid::nil(), "username": "ada"})),
            error: None,
            created_at: at,
            updated_at: at,
            finished_at: Some(at),
        }
    }
}

impl From<JobView> for Job {
    fn from(v: JobView) -> Self {
        Self {
            id: v.id,
            kind: v.kind.as_str().to_owned(),
            status: v.status.as_str().to_owned(),
            attempts: v.attempts,
            result: v.result,
            error: v.error,
            created_at: v.created_at,
            updated_at: v.updated_at,
            finished_at: v.finished_at,
        }
    }
}

/// The answer of an endpoint that started a job.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct JobAccepted {
    pub job_id: Uuid,
    pub status: String,
    /// Poll this for the job's state.
    pub status_url: String,
    /// Or open this WebSocket to be told when it finishes.
    pub ws_url: String,
}

impl JobAccepted {
    /// The body of a 202 and its `Location`.
    pub fn answer(job_id: Uuid) -> (poem_openapi::payload::Json<Self>, String) {
        let accepted = Self::new(job_id);
        let location = accepted.status_url.clone();
        (poem_openapi::payload::Json(accepted), location)
    }

    pub fn new(job_id: Uuid) -> Self {
        Self {
            job_id,
            status: "queued".into(),
            status_url: format!("/api/v1/jobs/{job_id}/"),
            ws_url: format!("/ws/jobs/{job_id}/"),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Message {
    pub message: String,
}

#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Detail {
    pub detail: String,
}

impl poem_openapi::types::Example for Tokens {
    fn example() -> Self {
        Self {
            access: "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.<access>".into(),
            refresh: "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.<refresh>".into(),
        }
    }
}

impl poem_openapi::types::Example for UserWithTokens {
    fn example() -> Self {
        Self { user: User::example(), tokens: Tokens::example() }
    }
}

impl poem_openapi::types::Example for JobAccepted {
    fn example() -> Self {
        Self::new(Uuid::nil())
    }
}

impl poem_openapi::types::Example for Message {
    fn example() -> Self {
        Self { message: "Token is valid".into() }
    }
}

impl poem_openapi::types::Example for Detail {
    fn example() -> Self {
        Self { detail: "password updated successfully".into() }
    }
}

mod assignments;
mod catalogue;
mod credentials;
mod date;
mod email;
mod name;
mod non_blank;
mod operations;
mod scalar;
mod shopping;
mod tasks;

pub use assignments::{Assignment, NewAssignment};
pub use catalogue::{
    Category, CategoryInput, ImageStatus, MoneyText, NewProduct, Product, ProductImage,
    ProductPatch,
};
pub use credentials::{NewPasswordText, UsernameText};
pub use date::Date;
pub use email::EmailText;
pub use name::NameText;
pub use non_blank::NonBlank;
pub use operations::{
    FinishedMinute, JobKindValue, JobStatusValue, Queue, Queues, Throughput, Worker, Workers,
};
pub use shopping::{Cart, CartItem, CartItemPatch, CartProduct, NewCartItem, Order, OrderItem};
pub use tasks::{task_stream_message, NewTask, Task, TaskPatch, TaskStatusValue};

/// 2026-11-22T08:00:00Z, the moment every example is taken at.
pub(crate) fn example_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T08:00:00Z")
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default()
}
