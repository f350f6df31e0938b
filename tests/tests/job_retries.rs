//! Transient failures are retried with backoff, give up after the configured attempts with a
//! readable error, and finished rows are purged after the retention period (expired refresh
//! tokens with them).

use std::time::Duration;

use dispatch_tests::{wait_until, TestApp, TestEnv};
use serde_json::Value;

async fn job(app: &TestApp, id: &str) -> Value {
    app.client
        .get(app.url(&format!("/api/v1/jobs/{id}/")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_transient_failure_is_retried_until_the_dependency_returns() {
    let mut env = TestEnv::new();
    env.set("DISPATCH_REQUEUE_AFTER", "2s");
    let mut app = TestApp::spawn_env(env, false).await;
    let id = app.registration_job("patient_user").await;
    // The table the handler needs disappears: every attempt fails with a database error.
    app.env.execute("RENAME TABLE users TO users_away").await;
    app.start_worker();
    let failed_attempt =
        wait_until(Duration::from_secs(20), "a failed attempt to be recorded", || {
            let app = &app;
            let id = id.clone();
            async move {
                let j = job(app, &id).await;
                (j["attempts"].as_u64()? >= 1 && j["error"].is_string()).then_some(j)
            }
        })
        .await;
    assert_ne!(failed_attempt["status"], "failed", "{failed_attempt}");
    app.env.execute("RENAME TABLE users_away TO users").await;
    let done = app.await_job_within(&id, None, Duration::from_secs(40)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done["attempts"].as_u64().unwrap() >= 2, "{done}");
    assert!(done["error"].is_null());
    assert_eq!(app.env.count_rows("users").await, 1);
}

#[tokio::test]
async fn retries_stop_after_the_configured_attempts_with_a_readable_error() {
    let mut env = TestEnv::new();
    env.set("DISPATCH_JOB_MAX_ATTEMPTS", "2");
    env.set("DISPATCH_REQUEUE_AFTER", "2s");
    let mut app = TestApp::spawn_env(env, false).await;
    let id = app.registration_job("doomed_user").await;
    app.env.execute("RENAME TABLE users TO users_away").await;
    app.start_worker();
    let done = app.await_job_within(&id, None, Duration::from_secs(40)).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["attempts"], 2);
    let error = done["error"].as_str().unwrap();
    assert!(error.contains("gave up after 2 attempts"), "{error}");
    assert!(done["finished_at"].is_string());
    app.env.execute("RENAME TABLE users_away TO users").await;
}

#[tokio::test]
async fn finished_jobs_are_purged_after_the_retention_period() {
    let mut env = TestEnv::new();
    env.set("DISPATCH_JOB_RETENTION", "2s");
    let app = TestApp::spawn_env(env, true).await;
    let id = app.registration_job("purged_user").await;
    assert_eq!(app.await_job(&id, None).await["status"], "succeeded");
    wait_until(Duration::from_secs(15), "the finished job to be purged", || {
        let app = &app;
        let url = app.url(&format!("/api/v1/jobs/{id}/"));
        async move { (app.client.get(&url).send().await.ok()?.status() == 404).then_some(()) }
    })
    .await;
    // The user it created stays.
    assert_eq!(app.env.count_rows("users").await, 1);
    // Redis keeps nothing of finished work: only MySQL has the record.
    let settings = app.settings();
    let queue = dispatch_shared::jobs::JobQueues::new(
        dispatch_shared::redis_conn::connect(
            &redis::Client::open(settings.redis_url.as_str()).unwrap(),
        )
        .await
        .unwrap(),
        &settings.redis_namespace,
    )
    .config(dispatch_shared::jobs::JobKind::RegisterUser);
    wait_until(Duration::from_secs(15), "Redis to forget the finished task", || {
        let env = &app.env;
        let (data, done) = (queue.job_data_hash(), queue.done_jobs_set());
        let metas = format!("{}:*", queue.job_meta_hash());
        async move {
            let mut conn = env.redis().await;
            let entries: i64 = redis::cmd("HLEN").arg(&data).query_async(&mut conn).await.ok()?;
            let done: i64 = redis::cmd("EXISTS").arg(&done).query_async(&mut conn).await.ok()?;
            let metas: Vec<String> =
                redis::cmd("KEYS").arg(&metas).query_async(&mut conn).await.ok()?;
            (entries == 0 && done == 0 && metas.is_empty()).then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn expired_refresh_tokens_are_purged_and_live_ones_kept() {
    let mut env = TestEnv::new();
    // The upkeep then runs every second.
    env.set("DISPATCH_JOB_RETENTION", "2s");
    let app = TestApp::spawn_env(env, true).await;
    let id = app.registration_job("token_holder").await;
    let done = app.await_job(&id, None).await;
    let user = done["result"]["id"].as_str().unwrap().to_owned();
    for (token, expires) in
        [("expired", "NOW(6) - INTERVAL 1 SECOND"), ("live", "NOW(6) + INTERVAL 1 DAY")]
    {
        app.env
            .execute(&format!(
                "INSERT INTO refresh_tokens (id, family_id, user_id, created_at, expires_at) \
                 VALUES (UUID(), '{token}', '{user}', NOW(6), {expires})"
            ))
            .await;
    }
    wait_until(Duration::from_secs(15), "the expired refresh token to be purged", || {
        let env = &app.env;
        async move { (env.count_rows("refresh_tokens").await == 1).then_some(()) }
    })
    .await;
    assert_eq!(app.env.execute("DELETE FROM refresh_tokens WHERE family_id = 'live'").await, 1);
}
