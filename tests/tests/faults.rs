//! Faults injected into real dependencies: a private Redis server is stopped and restarted
//! under a running API and worker.

use std::time::Duration;

use dispatch_tests::process::{await_job_state, free_port, start_api, Binary};
use dispatch_tests::redis_server::PrivateRedis;
use dispatch_tests::{wait_until, TestEnv};
use serde_json::{json, Value};

async fn status_of(client: &reqwest::Client, url: &str) -> Option<u16> {
    Some(client.get(url).send().await.ok()?.status().as_u16())
}

#[tokio::test]
async fn a_redis_outage_loses_no_job_and_readiness_recovers() {
    let redis_port = free_port();
    let mut redis = PrivateRedis::start(redis_port);
    let mut env = TestEnv::new();
    env.set("REDIS_URL", &format!("redis://127.0.0.1:{redis_port}"));
    env.set("DISPATCH_REQUEUE_AFTER", "1s");
    // No polling to fall back on: only the wake-up subscription brings jobs to the worker,
    // so it must come back with Redis.
    env.set("DISPATCH_WORKER_POLL", "1h");
    let (_api, base) = start_api(&mut env, &[]).await;
    let _worker = Binary::start("dispatch-worker", &env, &[]);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let ready = format!("{base}/readyz");

    redis.stop();
    let response = wait_until(Duration::from_secs(20), "readiness to report Redis down", || {
        let (client, ready) = (client.clone(), ready.clone());
        async move {
            let r = client.get(&ready).send().await.ok()?;
            (r.status() == 503).then_some(r)
        }
    })
    .await;
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["redis"], "unavailable");
    assert_eq!(body["mysql"], "ok");

    // Accepted while Redis is down: the row is the record.
    let r = client
        .post(format!("{base}/api/v1/auth/register/"))
        .json(&json!({"username": "outage", "email": "outage@example.com", "password": "outage-pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let accepted: Value = r.json().await.unwrap();
    let status_url = format!("{base}{}", accepted["status_url"].as_str().unwrap());

    // Redis comes back empty; nothing is restarted by hand.
    let _redis = PrivateRedis::start(redis_port);
    wait_until(Duration::from_secs(30), "readiness to recover", || {
        let (client, ready) = (client.clone(), ready.clone());
        async move { (status_of(&client, &ready).await? == 200).then_some(()) }
    })
    .await;
    let job = await_job_state(
        &status_url,
        Duration::from_secs(60),
        "the job accepted during the outage",
        |j| j["status"] == "succeeded",
    )
    .await;
    assert_eq!(job["result"]["username"], "outage");
    assert_eq!(env.count_rows("users").await, 1);

    let after = client
        .post(format!("{base}/api/v1/auth/register/"))
        .header("Prefer", "wait=15")
        .json(&json!({"username": "after_outage", "email": "after@example.com", "password": "outage-pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 201, "the worker was not woken after the outage");
}

#[tokio::test]
async fn task_streams_resubscribe_after_a_redis_outage() {
    use dispatch_tests::ws::{connect, next_json};
    use dispatch_tests::TestApp;

    let redis_port = free_port();
    let mut redis = PrivateRedis::start(redis_port);
    let mut env = TestEnv::new();
    env.set("REDIS_URL", &format!("redis://127.0.0.1:{redis_port}"));
    let app = TestApp::spawn_env(env, true).await;
    let ada = app.user("ada").await;
    let mut socket =
        connect(&app.ws_url("/ws/tasks/"), &[("authorization", &format!("Bearer {}", ada.token))])
            .await;

    redis.stop();
    let ready = app.url("/readyz");
    wait_until(Duration::from_secs(20), "readiness to report Redis down", || {
        let (client, ready) = (app.client.clone(), ready.clone());
        async move { (status_of(&client, &ready).await? == 503).then_some(()) }
    })
    .await;
    let _redis = PrivateRedis::start(redis_port);
    wait_until(Duration::from_secs(30), "readiness to recover", || {
        let (client, ready) = (app.client.clone(), ready.clone());
        async move { (status_of(&client, &ready).await? == 200).then_some(()) }
    })
    .await;

    // The same socket, never reopened, hears writes again once the instance re-subscribed
    // by itself. Each attempt is a new task; the first one heard ends the wait.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let task =
            app.created("/api/v1/tasks/", &ada.token, &json!({"title": "after the outage"})).await;
        let heard = tokio::time::timeout(Duration::from_secs(1), async {
            loop {
                let message = next_json(&mut socket, Duration::from_secs(30)).await;
                if message["id"] == task["id"] {
                    return message;
                }
            }
        })
        .await;
        if let Ok(message) = heard {
            assert_eq!(message["action"], "task_create");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the socket never heard a write after Redis came back"
        );
    }
}
