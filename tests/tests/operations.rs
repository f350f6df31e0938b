//! The operators' API against the real binaries: queue counts, every job, a failed
//! registration retried to success once its name is free, and the live-worker list that a
//! worker leaves on SIGTERM at once and after dying within the expiry.

use std::time::{Duration, Instant};

use dispatch_tests::process::{start_api, Binary};
use dispatch_tests::remote::Api;
use dispatch_tests::ws::{self, follow};
use dispatch_tests::Calls;
use dispatch_tests::{wait_until, TestEnv};
use reqwest::Method;
use serde_json::{json, Value};

const ROOT_PASSWORD: &str = "root-password-1";

/// An API whose first admin comes from the environment, so no worker is needed to start.
async fn api_with_admin(env: &mut TestEnv) -> (Binary, Api, String) {
    let (binary, base) = start_api(
        env,
        &[
            ("DISPATCH_ADMIN_USERNAME", "root"),
            ("DISPATCH_ADMIN_EMAIL", "root@example.com"),
            ("DISPATCH_ADMIN_PASSWORD", ROOT_PASSWORD),
        ],
    )
    .await;
    let api = Api::new(base);
    let (root, _) = api.login("root", ROOT_PASSWORD).await;
    (binary, api, root)
}

async fn register(api: &Api, password: &str) -> String {
    let (status, accepted) = api
        .call(
            Method::POST,
            "/api/v1/auth/register/",
            None,
            Some(&json!({"username": "twin", "email": format!("{password}@example.com"), "password": password})),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    accepted["job_id"].as_str().expect("a job id").to_owned()
}

fn queue<'a>(queues: &'a Value, kind: &str) -> &'a Value {
    queues["queues"]
        .as_array()
        .and_then(|all| all.iter().find(|q| q["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} queue in {queues}"))
}

async fn finished(api: &Api, job: &str) -> Value {
    wait_until(Duration::from_secs(30), "the job to finish", || async {
        let (_, job) = api.call(Method::GET, &format!("/api/v1/jobs/{job}/"), None, None).await;
        matches!(job["status"].as_str(), Some("succeeded" | "failed")).then_some(job)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_registration_is_retried_to_success_and_the_counts_follow() {
    let mut env = TestEnv::new();
    let (_api_binary, api, root) = api_with_admin(&mut env).await;

    // Two registrations of one name while no worker runs: both pass the early check.
    let first = register(&api, "first-password-1").await;
    let second = register(&api, "second-password-1").await;
    let queues = api.ok(Method::GET, "/api/v1/admin/queues/", &root, None).await;
    let waiting = queue(&queues, "register_user");
    assert_eq!(
        (waiting["queued"].as_u64(), waiting["workers"].as_u64()),
        (Some(2), Some(0)),
        "{queues}"
    );
    assert!(waiting["oldest_queued_seconds"].is_u64(), "{queues}");
    assert_eq!(queue(&queues, "send_mail")["oldest_queued_seconds"], Value::Null);

    let _worker = Binary::start("dispatch-worker", &env, &[]);
    let (a, b) = (finished(&api, &first).await, finished(&api, &second).await);
    let (failed, won) = if a["status"] == "failed" { (a, b) } else { (b, a) };
    assert_eq!(
        (won["status"].as_str(), failed["status"].as_str()),
        (Some("succeeded"), Some("failed"))
    );
    let failed_id = failed["id"].as_str().expect("an id").to_owned();

    let queues = api.ok(Method::GET, "/api/v1/admin/queues/", &root, None).await;
    let counted = queue(&queues, "register_user");
    assert_eq!(
        (
            counted["queued"].as_u64(),
            counted["failed_last_24h"].as_u64(),
            counted["succeeded_last_24h"].as_u64(),
            counted["workers"].as_u64()
        ),
        (Some(0), Some(1), Some(1), Some(1)),
        "root's bootstrap is not a job; the two registrations are: {queues}"
    );

    // Both finished this minute: the throughput counts them.
    let throughput = api.ok(Method::GET, "/api/v1/admin/throughput/", &root, None).await;
    let finished: u64 = throughput["minutes"]
        .as_array()
        .expect("minutes")
        .iter()
        .filter(|m| m["kind"] == "register_user")
        .filter_map(|m| m["finished"].as_u64())
        .sum();
    assert_eq!(finished, 2, "{throughput}");

    // Every job, filtered and ordered.
    let failures = api
        .ok(Method::GET, "/api/v1/admin/jobs/?status=failed&kind=register_user", &root, None)
        .await;
    assert_eq!(failures["count"], 1, "{failures}");
    assert_eq!(failures["results"][0]["id"], failed_id.as_str());
    assert!(failures["results"][0]["error"].as_str().is_some_and(|e| e.contains("twin")));
    let newest_first = api
        .ok(Method::GET, "/api/v1/admin/jobs/?ordering=-created_at&page_size=1", &root, None)
        .await;
    assert_eq!(newest_first["results"][0]["id"], second.as_str(), "{newest_first}");
    let (status, _) = api.read("/api/v1/admin/jobs/?ordering=nope", &root).await;
    assert_eq!(status, 400);

    // Only a failed job can be retried, only by an admin.
    let retry = |id: &str| format!("/api/v1/admin/jobs/{id}/retry/");
    let won_id = won["id"].as_str().expect("an id");
    let (status, problem) = api.act(Method::POST, &retry(won_id), &root).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["type"].as_str().is_some_and(|t| t.ends_with("job-not-failed")));
    let (status, _) =
        api.act(Method::POST, &retry("00000000-0000-4000-8000-000000000000"), &root).await;
    assert_eq!(status, 404);
    let (user, _) = api
        .login(
            "twin",
            if won["id"] == first.as_str() { "first-password-1" } else { "second-password-1" },
        )
        .await;
    for (token, expected) in [(Some(user.as_str()), 403), (None, 401)] {
        for path in ["/api/v1/admin/queues/", "/api/v1/admin/jobs/", "/api/v1/admin/workers/"] {
            assert_eq!(api.call(Method::GET, path, token, None).await.0, expected, "{path}");
        }
        assert_eq!(api.call(Method::POST, &retry(&failed_id), token, None).await.0, expected);
    }

    // Free the name, retry, and follow the job to its new end.
    let twin = api.ok(Method::GET, "/api/v1/admin/users/?search=twin", &root, None).await
        ["results"][0]["id"]
        .as_str()
        .expect("twin's id")
        .to_owned();
    api.ok(Method::DELETE, &format!("/api/v1/admin/users/{twin}/"), &root, None).await;
    let (status, accepted) = api.act(Method::POST, &retry(&failed_id), &root).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["job_id"], failed_id.as_str());
    let socket = ws::url(&api.base, &format!("/ws/jobs/{failed_id}/"));
    let transcript = follow(&socket, &[], Duration::from_secs(30)).await;
    let last = transcript.messages.last().expect("the job's messages");
    assert_eq!(
        (last["status"].as_str(), transcript.close_code),
        (Some("succeeded"), Some(1000)),
        "{last}"
    );
    assert_eq!(last["error"], Value::Null);
    assert!(last["attempts"].as_u64().is_some_and(|n| n >= 2), "attempts are kept: {last}");
    let password = if failed_id == first { "first-password-1" } else { "second-password-1" };
    api.login("twin", password).await;
    // The retried job left the failed count and joined the succeeded one.
    let queues = api.ok(Method::GET, "/api/v1/admin/queues/", &root, None).await;
    let counted = queue(&queues, "register_user");
    assert_eq!(
        (counted["failed_last_24h"].as_u64(), counted["succeeded_last_24h"].as_u64()),
        (Some(0), Some(2)),
        "{queues}"
    );
    // Retried once it succeeded: no longer failed.
    let (status, _) = api.act(Method::POST, &retry(&failed_id), &root).await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_report_themselves_and_leave_the_list_when_they_stop_or_die() {
    let mut env = TestEnv::new();
    let (_api_binary, api, root) = api_with_admin(&mut env).await;
    let mut gentle = Binary::start(
        "dispatch-worker",
        &env,
        &[
            ("DISPATCH_WORKER_KINDS", "register_user,send_mail"),
            ("DISPATCH_WORKER_CONCURRENCY", "3"),
            ("DISPATCH_WORKER_METRICS_BIND", "off"),
        ],
    );
    let mut doomed = Binary::start(
        "dispatch-worker",
        &env,
        &[("DISPATCH_WORKER_KINDS", "resize_image"), ("DISPATCH_WORKER_METRICS_BIND", "off")],
    );
    let listed = |count: usize| {
        let api = &api;
        let root = root.clone();
        async move {
            let workers = api.ok(Method::GET, "/api/v1/admin/workers/", &root, None).await;
            (workers["workers"].as_array().map(Vec::len) == Some(count)).then_some(workers)
        }
    };
    let both = wait_until(Duration::from_secs(20), "both workers listed", || listed(2)).await;
    let general = both["workers"]
        .as_array()
        .and_then(|all| all.iter().find(|w| w["kinds"].as_array().is_some_and(|k| k.len() == 2)))
        .unwrap_or_else(|| panic!("the general worker in {both}"));
    assert_eq!(general["concurrency"], json!({"register_user": 3, "send_mail": 3}), "{general}");
    assert_eq!(general["jobs_in_hand"], 0);
    assert!(general["last_seen_at"].as_str() >= general["started_at"].as_str());
    let queues = api.ok(Method::GET, "/api/v1/admin/queues/", &root, None).await;
    assert_eq!(queue(&queues, "resize_image")["workers"], 1);
    assert_eq!(queue(&queues, "daily_mail")["workers"], 0);

    let signalled = Instant::now();
    assert!(gentle.terminate(Duration::from_secs(10)).await, "SIGTERM ends the worker cleanly");
    let left = Duration::from_secs(10).saturating_sub(signalled.elapsed());
    wait_until(left, "the stopped worker to leave the list", || listed(1)).await;

    let killed = Instant::now();
    doomed.kill();
    wait_until(Duration::from_secs(60), "the dead worker to leave the list", || listed(0)).await;
    assert!(
        killed.elapsed() >= Duration::from_secs(5),
        "a dead worker is dropped by expiry, not by a signal"
    );
}
