//! A queue that grew while no worker ran is drained when one starts, however long it is:
//! apalis-redis's fetch script alone fails once its queue holds more than about 8,000 tasks.

use std::time::Duration;

use dispatch_shared::auth::argon2id;
use dispatch_shared::jobs::register_user::RegisterUserPayload;
use dispatch_shared::jobs::{JobKind, JobQueues};
use dispatch_shared::repo::jobs;
use dispatch_tests::TestApp;
use futures::stream::{self, StreamExt};
use uuid::Uuid;

/// Past the fetch script's limit, with room to spare.
const BACKLOG: usize = 9_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_past_the_fetch_scripts_limit_is_drained() {
    let mut app = TestApp::spawn_without_worker().await;
    let settings = app.settings();
    let db = dispatch_shared::db::build_pool(&settings.database_url, 8);
    let client = redis::Client::open(settings.redis_url.as_str()).expect("a Redis URL");
    let queues = JobQueues::new(
        dispatch_shared::redis_conn::connect(&client).await.expect("Redis"),
        &settings.redis_namespace,
    );
    let password_hash = argon2id::hash(b"backlog-password").expect("a hash");
    stream::iter(0..BACKLOG)
        .for_each_concurrent(16, |n| {
            let (db, queues, password_hash) = (&db, &queues, &password_hash);
            async move {
                let payload = RegisterUserPayload {
                    user_id: Uuid::new_v4(),
                    username: format!("backlog{n}"),
                    email: format!("backlog{n}@example.com"),
                    first_name: String::new(),
                    last_name: String::new(),
                    password_hash: password_hash.clone(),
                };
                let payload = serde_json::to_string(&payload).expect("a payload");
                let job = jobs::new_job(JobKind::RegisterUser, None, Some(payload), None);
                let mut conn = db.get().await.expect("a connection");
                jobs::insert(&mut conn, &job).await.expect("the job row");
                queues.push(JobKind::RegisterUser, job.id.0).await.expect("queued");
            }
        })
        .await;

    app.start_worker();
    let env = &app.env;
    dispatch_tests::wait_until(
        Duration::from_secs(240),
        "every queued registration to succeed",
        || async {
            let done = env.count_matching("jobs", "status = 'succeeded'").await;
            (done == BACKLOG as i64).then_some(())
        },
    )
    .await;
    assert_eq!(env.count_matching("users", "username LIKE 'backlog%'").await, BACKLOG as i64);
    assert_eq!(env.count_matching("jobs", "status <> 'succeeded'").await, 0);
}
