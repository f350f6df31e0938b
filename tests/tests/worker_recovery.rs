//! A worker keeps taking jobs through whatever Redis does to it: its data flushed while
//! the consumers fetch under load, or the server restarted. Two API instances and a worker,
//! each a separate process, on a Redis server of the test's own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dispatch_tests::burst::registrations;
use dispatch_tests::process::{free_port, start_api, Binary};
use dispatch_tests::redis_server::PrivateRedis;
use dispatch_tests::{wait_until, TestEnv};

/// The worker's gauge of its consumers: 1 while they take jobs, 0 while they are rebuilt.
async fn consumers_up_gauge(client: &reqwest::Client, health: &str) -> Option<String> {
    let metrics = client.get(format!("{health}/metrics")).send().await.ok()?.text().await.ok()?;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("dispatch_worker_consumers_up "))
        .map(str::to_owned)
}

/// The worker's health endpoint: 200 while its consumers take jobs, else 503.
async fn worker_ready(client: &reqwest::Client, health: &str) -> Option<u16> {
    let response = client.get(format!("{health}/readyz")).send().await.ok()?;
    Some(response.status().as_u16())
}

struct Setup {
    env: TestEnv,
    redis: PrivateRedis,
    bases: Vec<String>,
    health: String,
    _apis: Vec<Binary>,
    worker: Binary,
}

async fn setup() -> Setup {
    setup_with(&[]).await
}

/// `setup`, with more variables for the worker.
async fn setup_with(worker_vars: &[(&str, &str)]) -> Setup {
    let redis = PrivateRedis::start(free_port());
    let mut env = TestEnv::new();
    env.set("REDIS_URL", &redis.url());
    // The reconciler pushes again what a flush took from the queue.
    env.set("DISPATCH_REQUEUE_AFTER", "1s");
    let (first_api, first) = start_api(&mut env, &[]).await;
    let (second_api, second) = start_api(&mut env, &[]).await;
    let health = format!("127.0.0.1:{}", free_port());
    let mut vars = vec![("DISPATCH_WORKER_METRICS_BIND", health.as_str())];
    vars.extend_from_slice(worker_vars);
    let worker = Binary::start("dispatch-worker", &env, &vars);
    let health = format!("http://{health}");
    let client = reqwest::Client::new();
    wait_until(Duration::from_secs(30), "the worker to be ready", || {
        let (client, health) = (client.clone(), health.clone());
        async move { (worker_ready(&client, &health).await? == 200).then_some(()) }
    })
    .await;
    Setup {
        env,
        redis,
        bases: vec![first, second],
        health,
        _apis: vec![first_api, second_api],
        worker,
    }
}

/// Every accepted registration has succeeded exactly once: one user each, no job left.
async fn all_registered(env: &TestEnv, accepted: usize, within: Duration) {
    env.await_all_registered(accepted, within).await;
    assert_eq!(
        env.count_matching("jobs", "attempts <> 1").await,
        0,
        "a registration was run twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_flushed_three_times_during_a_burst_loses_no_registration() {
    const COUNT: usize = 1_000;
    let setup = setup().await;
    let accepted = Arc::new(AtomicUsize::new(0));
    let flusher = async {
        for at in [COUNT / 4, COUNT / 2, 3 * COUNT / 4] {
            wait_until(Duration::from_secs(120), "the burst to go on", || async {
                (accepted.load(Ordering::Relaxed) >= at).then_some(())
            })
            .await;
            setup.redis.flush_all().await;
        }
    };
    tokio::join!(registrations(&setup.bases, "flushed", COUNT, 16, accepted.clone()), flusher);
    all_registered(&setup.env, COUNT, Duration::from_secs(120)).await;
    let client = reqwest::Client::new();
    assert_eq!(worker_ready(&client, &setup.health).await, Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_during_a_burst_loses_no_registration() {
    const COUNT: usize = 300;
    let mut setup = setup().await;
    let accepted = Arc::new(AtomicUsize::new(0));
    let first = registrations(&setup.bases, "before", COUNT / 2, 8, accepted.clone());
    first.await;
    setup.redis.stop();
    let client = reqwest::Client::new();
    wait_until(Duration::from_secs(30), "the worker to report its consumers down", || {
        let (client, health) = (client.clone(), setup.health.clone());
        async move { (worker_ready(&client, &health).await? == 503).then_some(()) }
    })
    .await;
    assert_eq!(consumers_up_gauge(&client, &setup.health).await.as_deref(), Some("0"));
    setup.redis = PrivateRedis::start(setup.redis.port);
    for base in &setup.bases {
        dispatch_tests::process::wait_ready(base).await;
    }
    registrations(&setup.bases, "after", COUNT / 2, 8, accepted.clone()).await;
    all_registered(&setup.env, COUNT, Duration::from_secs(120)).await;
    assert_eq!(worker_ready(&client, &setup.health).await, Some(200));
    assert_eq!(consumers_up_gauge(&client, &setup.health).await.as_deref(), Some("1"));
    assert!(setup.worker.child.try_wait().expect("worker status").is_none());
}

#[tokio::test]
async fn a_worker_that_cannot_rebuild_its_consumers_exits_non_zero() {
    let mut setup = setup_with(&[("DISPATCH_WORKER_RECOVERY_LIMIT", "3s")]).await;
    setup.redis.stop();
    let worker = &mut setup.worker;
    let status = wait_until(Duration::from_secs(30), "the worker to give up", || {
        let exited = worker.child.try_wait().expect("worker status");
        async move { exited }
    })
    .await;
    assert!(!status.success(), "the worker gave up with {status}");
}
