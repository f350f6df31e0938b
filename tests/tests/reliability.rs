//! No accepted job is lost: not when Redis loses its data, not when a worker dies mid-job.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};
use dispatch_tests::process::{free_port, Binary};
use dispatch_tests::{wait_until, TestApp, TestEnv};
use serde_json::{json, Value};

async fn enqueue_registration(client: &reqwest::Client, base: &str, username: &str) -> String {
    let r = client
        .post(format!("{base}/api/v1/auth/register/"))
        .json(&json!({"username": username, "email": format!("{username}@example.com"), "password": "reliable-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    body["job_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn flushing_redis_while_jobs_are_queued_loses_none() {
    let mut env = TestEnv::new();
    env.set("DISPATCH_REQUEUE_AFTER", "1s");
    let mut app = TestApp::spawn_env(env, false).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(enqueue_registration(&app.client, &app.address, &format!("flushed_{i}")).await);
    }
    // Redis forgets every queued message of this deployment.
    app.env.flush_namespace().await;
    app.start_worker();
    for id in &ids {
        let job = app
            .await_job_within(id, None, Duration::from_secs(30))
            .await;
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    assert_eq!(app.env.count_rows("users").await, 5);
}

#[tokio::test]
async fn a_worker_killed_mid_job_loses_nothing_and_the_job_completes_once() {
    let mut env = TestEnv::new();
    env.set("DISPATCH_JOB_LEASE", "3s");
    env.set("DISPATCH_REQUEUE_AFTER", "2s");
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    env.set("DISPATCH_BIND", &bind);
    let base = format!("http://{bind}");
    let _api = Binary::start("dispatch-api", &env, &[]);
    let client = reqwest::Client::new();
    wait_until(Duration::from_secs(30), "dispatch-api to be ready", || {
        let client = client.clone();
        let url = format!("{base}/readyz");
        async move { (client.get(&url).send().await.ok()?.status() == 200).then_some(()) }
    })
    .await;

    // Hold a gap lock on the username so the worker's INSERT blocks: the job is then
    // provably in the middle of its run when the worker dies.
    let mut blocker = AsyncMysqlConnection::establish(&env.database_url)
        .await
        .unwrap();
    diesel::sql_query("BEGIN")
        .execute(&mut blocker)
        .await
        .unwrap();
    diesel::sql_query("SELECT id FROM users WHERE username = 'victim' FOR UPDATE")
        .execute(&mut blocker)
        .await
        .unwrap();

    let mut worker = Binary::start("dispatch-worker", &env, &[]);
    let id = enqueue_registration(&client, &base, "victim").await;
    let status_url = format!("{base}/api/v1/jobs/{id}/");
    wait_until(Duration::from_secs(20), "the job to be running", || {
        let client = client.clone();
        let url = status_url.clone();
        async move {
            let job: Value = client.get(&url).send().await.ok()?.json().await.ok()?;
            (job["status"] == "running").then_some(())
        }
    })
    .await;
    worker.kill();
    diesel::sql_query("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();

    let _worker = Binary::start("dispatch-worker", &env, &[]);
    let job = wait_until(
        Duration::from_secs(60),
        "the job to finish after the restart",
        || {
            let client = client.clone();
            let url = status_url.clone();
            async move {
                let job: Value = client.get(&url).send().await.ok()?.json().await.ok()?;
                matches!(job["status"].as_str(), Some("succeeded" | "failed")).then_some(job)
            }
        },
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        job["attempts"], 2,
        "one killed run, one completed run: {job}"
    );
    assert_eq!(env.count_rows("users").await, 1);
}

#[tokio::test]
async fn sigterm_lets_the_job_in_hand_finish() {
    let mut env = TestEnv::new();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    env.set("DISPATCH_BIND", &bind);
    let base = format!("http://{bind}");
    let _api = Binary::start("dispatch-api", &env, &[]);
    let client = reqwest::Client::new();
    wait_until(Duration::from_secs(30), "dispatch-api to be ready", || {
        let client = client.clone();
        let url = format!("{base}/readyz");
        async move { (client.get(&url).send().await.ok()?.status() == 200).then_some(()) }
    })
    .await;
    let mut blocker = AsyncMysqlConnection::establish(&env.database_url)
        .await
        .unwrap();
    diesel::sql_query("BEGIN")
        .execute(&mut blocker)
        .await
        .unwrap();
    diesel::sql_query("SELECT id FROM users WHERE username = 'patient' FOR UPDATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let mut worker = Binary::start("dispatch-worker", &env, &[]);
    let id = enqueue_registration(&client, &base, "patient").await;
    let status_url = format!("{base}/api/v1/jobs/{id}/");
    wait_until(Duration::from_secs(20), "the job to be running", || {
        let client = client.clone();
        let url = status_url.clone();
        async move {
            let job: Value = client.get(&url).send().await.ok()?.json().await.ok()?;
            (job["status"] == "running").then_some(())
        }
    })
    .await;
    // SIGTERM while the job is blocked; release the lock only afterwards.
    let terminating = {
        let pid = worker.pid();
        std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .unwrap()
    };
    assert!(terminating.success());
    diesel::sql_query("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();
    assert!(
        worker.terminate(Duration::from_secs(30)).await,
        "the worker exits cleanly"
    );
    let job: Value = client
        .get(&status_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        job["status"], "succeeded",
        "the job in hand finished before exit: {job}"
    );
    assert_eq!(job["attempts"], 1);
}
