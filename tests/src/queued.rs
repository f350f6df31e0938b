//! Registration jobs queued as the API queues them (a `jobs` row, then the push), without
//! an API or a hash per job: for tests of what a worker does with a backlog.

use dispatch_shared::auth::argon2id;
use dispatch_shared::db::DbPool;
use dispatch_shared::jobs::register_user::{FirstSession, RegisterUserPayload};
use dispatch_shared::jobs::{JobKind, JobQueues};
use dispatch_shared::models::now_naive;
use dispatch_shared::repo::jobs;
use uuid::Uuid;

use crate::TestApp;

pub struct Registrations {
    db: DbPool,
    queues: JobQueues,
    /// One hash for every job: hashing is not what these tests measure.
    password_hash: String,
}

impl Registrations {
    pub async fn open(app: &TestApp) -> Self {
        let settings = app.settings();
        let db = dispatch_shared::db::build_pool(&settings.database_url, 8);
        let client = redis::Client::open(settings.redis_url.as_str()).expect("a Redis URL");
        let queues = JobQueues::new(
            dispatch_shared::redis_conn::connect(&client).await.expect("Redis"),
            &settings.redis_namespace,
        );
        let password_hash = argon2id::hash(b"queued-password").expect("a hash");
        Self { db, queues, password_hash }
    }

    /// Queues the registration of `username` with `email`; the job's id.
    pub async fn queue(&self, username: &str, email: &str) -> Uuid {
        self.queue_with(username, email, None).await
    }

    /// `queue`, for a request that waits and signs the new user in with `session`.
    pub async fn queue_signing_in(
        &self,
        username: &str,
        email: &str,
        session: FirstSession,
    ) -> Uuid {
        self.queue_with(username, email, Some(session)).await
    }

    async fn queue_with(
        &self,
        username: &str,
        email: &str,
        first_session: Option<FirstSession>,
    ) -> Uuid {
        let payload = payload(username, email, &self.password_hash, first_session);
        let payload = serde_json::to_string(&payload).expect("a payload");
        let job = jobs::new_job(JobKind::RegisterUser, None, Some(payload), None);
        let mut conn = self.db.get().await.expect("a connection");
        jobs::insert(&mut conn, &job).await.expect("the job row");
        self.queues.push(JobKind::RegisterUser, job.id.0).await.expect("queued");
        job.id.0
    }
}

/// A well-formed Argon2id hash that no password matches, for payloads whose hash nothing checks.
pub const UNUSED_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

/// A registration job's payload as the API writes it: a new user id, no names, and the
/// session of a request that waits, if any.
pub fn payload(
    username: &str,
    email: &str,
    password_hash: &str,
    first_session: Option<FirstSession>,
) -> RegisterUserPayload {
    RegisterUserPayload {
        user_id: Uuid::new_v4(),
        username: username.to_owned(),
        email: email.to_owned(),
        first_name: String::new(),
        last_name: String::new(),
        password_hash: password_hash.to_owned(),
        first_session,
    }
}

/// The ids a waiting request chooses for the new user's first session, a day long.
pub fn first_session() -> FirstSession {
    FirstSession {
        refresh_id: Uuid::new_v4(),
        family: Uuid::new_v4(),
        expires_at: now_naive() + chrono::Duration::days(1),
    }
}
