//! No accepted job is lost: not when Redis loses its data, not when a worker dies mid-job.

use std::time::Duration;

use diesel_async::{AsyncMysqlConnection, RunQueryDsl};
use dispatch_tests::process::{await_job_state, start_api, Binary};
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

/// Holds a gap lock on `username` so a worker's INSERT of it blocks: the job is then provably
/// in the middle of its run. Dropping the connection (or ROLLBACK) releases it.
async fn block_inserts_of(env: &TestEnv, username: &str) -> AsyncMysqlConnection {
    let mut conn = env.connection().await;
    diesel::sql_query("BEGIN").execute(&mut conn).await.unwrap();
    diesel::sql_query(format!("SELECT id FROM users WHERE username = '{username}' FOR UPDATE"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

async fn release(mut blocker: AsyncMysqlConnection) {
    diesel::sql_query("ROLLBACK").execute(&mut blocker).await.unwrap();
}

/// Starts the API and a worker, and enqueues a registration that blocks mid-run. A
/// registration runs in one transaction, so pollers still see it `queued`: the run is
/// known to be under way when its INSERT is still running, waiting for the blocker's lock.
/// Returns the API, the worker, the blocker, the API's base URL and the job's status URL.
async fn job_in_the_middle_of_its_run(
    env: &mut TestEnv,
    username: &str,
) -> (Binary, Binary, AsyncMysqlConnection, String, String) {
    let (api, base) = start_api(env, &[]).await;
    let blocker = block_inserts_of(env, username).await;
    let worker = Binary::start("dispatch-worker", env, &[]);
    let id = enqueue_registration(&reqwest::Client::new(), &base, username).await;
    let status_url = format!("{base}/api/v1/jobs/{id}/");
    wait_until(Duration::from_secs(20), "the job's INSERT to wait for the lock", || async {
        (env.statements_running("INSERT INTO `users`").await > 0).then_some(())
    })
    .await;
    let job = job_at(&status_url).await;
    assert_eq!(job["status"], "queued", "nothing of a run shows until it commits: {job}");
    (api, worker, blocker, base, status_url)
}

async fn job_at(status_url: &str) -> Value {
    reqwest::get(status_url).await.unwrap().json().await.unwrap()
}

fn finished(job: &Value) -> bool {
    matches!(job["status"].as_str(), Some("succeeded" | "failed"))
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
        let job = app.await_job_within(id, None, Duration::from_secs(30)).await;
        assert_eq!(job["status"], "succeeded", "{job}");
    }
    assert_eq!(app.env.count_rows("users").await, 5);
}

/// Holds a read lock on the job table: a worker's `SELECT … FOR UPDATE` of a job row waits
/// for it, so its run is provably under way and has written nothing. Jobs are stored before
/// it is taken. `UNLOCK TABLES` (or dropping the connection) releases it.
async fn block_job_locks(env: &TestEnv) -> AsyncMysqlConnection {
    let mut conn = env.connection().await;
    diesel::sql_query("LOCK TABLES jobs READ").execute(&mut conn).await.unwrap();
    conn
}

#[tokio::test]
async fn a_worker_killed_mid_job_loses_nothing_and_the_job_completes_once() {
    let mut env = TestEnv::new();
    env.set("DISPATCH_JOB_LEASE", "3s");
    env.set("DISPATCH_REQUEUE_AFTER", "2s");
    let (_api, base) = start_api(&mut env, &[]).await;
    let id = enqueue_registration(&reqwest::Client::new(), &base, "victim").await;
    let status_url = format!("{base}/api/v1/jobs/{id}/");
    let mut blocker = block_job_locks(&env).await;
    let mut worker = Binary::start("dispatch-worker", &env, &[]);
    wait_until(Duration::from_secs(20), "the run's lock of its job to wait", || async {
        (env.statements_running("SELECT%FOR UPDATE").await > 0).then_some(())
    })
    .await;
    worker.kill();
    diesel::sql_query("UNLOCK TABLES").execute(&mut blocker).await.unwrap();
    let job = job_at(&status_url).await;
    assert_eq!(
        (&job["status"], &job["attempts"]),
        (&json!("queued"), &json!(0)),
        "the killed run was rolled back with all it did: {job}"
    );
    assert_eq!(env.count_rows("users").await, 0);

    let _worker = Binary::start("dispatch-worker", &env, &[]);
    let job = await_job_state(
        &status_url,
        Duration::from_secs(60),
        "the job to finish after the restart",
        finished,
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 1, "the killed run left no trace, the completed one counts: {job}");
    assert_eq!(env.count_rows("users").await, 1);
}

/// A run's writes and its `COMMIT` go to MariaDB as one statement: a worker killed while
/// MariaDB runs it leaves the outcome to MariaDB, which finishes the run whole. The job
/// counts one run, and a worker started afterwards does not run it again.
#[tokio::test]
async fn a_worker_killed_while_its_last_statement_runs_leaves_the_job_done_once() {
    let mut env = TestEnv::new();
    env.set("DISPATCH_JOB_LEASE", "3s");
    env.set("DISPATCH_REQUEUE_AFTER", "2s");
    let (_api, mut worker, blocker, base, status_url) =
        job_in_the_middle_of_its_run(&mut env, "finisher").await;
    worker.kill();
    release(blocker).await;
    let job = await_job_state(
        &status_url,
        Duration::from_secs(20),
        "MariaDB to finish the killed run's statement",
        finished,
    )
    .await;
    assert_eq!((&job["status"], &job["attempts"]), (&json!("succeeded"), &json!(1)), "{job}");
    assert_eq!(env.count_rows("users").await, 1);

    // The restarted worker has run a later job, and left this one as it was.
    let _worker = Binary::start("dispatch-worker", &env, &[]);
    let later = enqueue_registration(&reqwest::Client::new(), &base, "later").await;
    let later = await_job_state(
        &format!("{base}/api/v1/jobs/{later}/"),
        Duration::from_secs(60),
        "the later job to finish",
        finished,
    )
    .await;
    assert_eq!(later["status"], "succeeded", "{later}");
    let job = job_at(&status_url).await;
    assert_eq!((&job["status"], &job["attempts"]), (&json!("succeeded"), &json!(1)), "{job}");
    assert_eq!(env.count_rows("users").await, 2);
}

#[tokio::test]
async fn sigterm_lets_the_job_in_hand_finish() {
    let mut env = TestEnv::new();
    let (_api, mut worker, blocker, _base, status_url) =
        job_in_the_middle_of_its_run(&mut env, "patient").await;
    // SIGTERM while the job is blocked; release the lock only afterwards.
    let sent = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(worker.pid().to_string())
        .status()
        .unwrap();
    assert!(sent.success());
    release(blocker).await;
    assert!(worker.terminate(Duration::from_secs(30)).await, "the worker exits cleanly");
    let job = job_at(&status_url).await;
    assert_eq!(job["status"], "succeeded", "the job in hand finished before exit: {job}");
    assert_eq!(job["attempts"], 1);
}
