//! A queue that grew while no worker ran is drained when one starts, however long it is:
//! apalis-redis's fetch script alone fails once its queue holds more than about 8,000 tasks.

use std::time::Duration;

use dispatch_tests::queued::Registrations;
use dispatch_tests::TestApp;
use futures::stream::{self, StreamExt};

/// Past the fetch script's limit, with room to spare.
const BACKLOG: usize = 9_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_past_the_fetch_scripts_limit_is_drained() {
    let mut app = TestApp::spawn_without_worker().await;
    let registrations = Registrations::open(&app).await;
    stream::iter(0..BACKLOG)
        .for_each_concurrent(16, |n| {
            let registrations = &registrations;
            async move {
                registrations
                    .queue(&format!("backlog{n}"), &format!("backlog{n}@example.com"))
                    .await;
            }
        })
        .await;

    app.start_worker();
    let env = &app.env;
    env.await_rows("jobs", "status = 'succeeded'", BACKLOG, Duration::from_secs(240)).await;
    assert_eq!(env.count_matching("users", "username LIKE 'backlog%'").await, BACKLOG as i64);
    assert_eq!(env.count_matching("jobs", "status <> 'succeeded'").await, 0);
}
