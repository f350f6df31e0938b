//! MariaDB crashes and comes back during a burst of registrations, under two API instances
//! and a worker (separate processes, never restarted): every accepted registration
//! completes, once, and both pools recover by themselves.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dispatch_tests::burst::registrations;
use dispatch_tests::mariadb_server::PrivateMariaDb;
use dispatch_tests::process::{free_port, start_api, wait_ready, Binary};
use dispatch_tests::{wait_until, TestEnv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_restarted_during_a_burst_loses_no_registration() {
    const COUNT: usize = 200;
    let mut mariadb = PrivateMariaDb::start(free_port()).await;
    let mut env = TestEnv::new();
    env.database_url = mariadb.url("dispatch_restart");
    env.set("DATABASE_URL", &env.database_url.clone());
    env.set("DISPATCH_REQUEUE_AFTER", "1s");
    let (mut first_api, first) = start_api(&mut env, &[]).await;
    let (mut second_api, second) = start_api(&mut env, &[]).await;
    let health = format!("127.0.0.1:{}", free_port());
    let mut worker = Binary::start(
        "dispatch-worker",
        &env,
        &[("DISPATCH_WORKER_METRICS_BIND", health.as_str())],
    );
    let bases = vec![first.clone(), second.clone()];

    let accepted = Arc::new(AtomicUsize::new(0));
    let crash = async {
        wait_until(Duration::from_secs(120), "the burst to be under way", || async {
            (accepted.load(Ordering::Relaxed) >= COUNT / 3).then_some(())
        })
        .await;
        mariadb.crash();
        tokio::time::sleep(Duration::from_secs(2)).await;
        mariadb.restart().await;
    };
    tokio::join!(registrations(&bases, "restart", COUNT, 8, accepted.clone()), crash);
    assert_eq!(accepted.load(Ordering::Relaxed), COUNT);

    env.await_all_registered(COUNT, Duration::from_secs(120)).await;
    // No process was restarted: the pools recovered by themselves.
    for base in &bases {
        wait_ready(base).await;
    }
    let ready = reqwest::get(format!("http://{health}/readyz")).await.expect("worker probe");
    assert_eq!(ready.status(), 200);
    for process in [&mut first_api, &mut second_api, &mut worker] {
        assert!(process.child.try_wait().expect("status").is_none(), "{} exited", process.name);
    }
}
