//! The two real binaries as separate processes, used as a client would.

use std::time::Duration;

use dispatch_tests::process::{binary_path, command, start_api, Binary};
use dispatch_tests::{ws, TestEnv};
use serde_json::{json, Value};

#[tokio::test]
async fn register_follow_the_job_over_websocket_then_log_in() {
    let mut env = TestEnv::new();
    let (_api, base) = start_api(&mut env, &[]).await;
    let _worker = Binary::start("dispatch-worker", &env, &[]);
    let client = reqwest::Client::new();

    let r = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"username": "e2e_user", "email": "e2e@example.com", "password": "end-to-end-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let accepted: Value = r.json().await.unwrap();
    let ws_url = ws::url(&base, accepted["ws_url"].as_str().unwrap());
    let transcript = ws::follow(&ws_url, &[], Duration::from_secs(30)).await;
    let last = transcript.messages.last().expect("at least one message");
    assert_eq!(last["status"], "succeeded", "{:?}", transcript.messages);
    assert_eq!(last["result"]["username"], "e2e_user");
    assert_eq!(transcript.close_code, Some(1000));

    let r = client
        .post(format!("{base}/api/v1/auth/login/"))
        .json(&json!({"username": "e2e_user", "password": "end-to-end-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let profile: Value = client
        .get(format!("{base}/api/v1/auth/profile/"))
        .bearer_auth(body["tokens"]["access"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile["username"], "e2e_user");
}

#[tokio::test]
async fn a_wrong_setting_stops_the_binary_naming_the_variable() {
    let env = TestEnv::new();
    for (name, var, value) in [
        ("dispatch-api", "DISPATCH_ACCESS_TTL", "forever"),
        ("dispatch-worker", "DISPATCH_WORKER_CONCURRENCY", "many"),
    ] {
        let output = command(name, &env).env(var, value).output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(var), "{name}: {stderr}");
    }
    let output = std::process::Command::new(binary_path("dispatch-api"))
        .env_clear()
        .env("DISPATCH_ENV", "production")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DISPATCH_JWT_SECRET"));
}

#[tokio::test]
async fn two_api_instances_and_two_workers_share_the_work_and_the_events() {
    let mut env = TestEnv::new();
    let (_api_a, base_a) = start_api(&mut env, &[]).await;
    let (_api_b, base_b) = start_api(&mut env, &[]).await;
    let _worker_1 = Binary::start("dispatch-worker", &env, &[]);
    let _worker_2 = Binary::start("dispatch-worker", &env, &[]);
    let client = reqwest::Client::new();

    // Jobs enqueued through A, followed over WebSockets on B.
    let mut followers = Vec::new();
    for i in 0..10 {
        let r = client
            .post(format!("{base_a}/api/v1/auth/register/"))
            .json(
                &json!({"username": format!("multi_{i}"), "email": format!("multi_{i}@example.com"),
                          "password": "multi-pass-1"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let accepted: Value = r.json().await.unwrap();
        let url = ws::url(&base_b, accepted["ws_url"].as_str().unwrap());
        followers.push(tokio::spawn(async move {
            ws::follow(&url, &[], Duration::from_secs(30)).await
        }));
    }
    for follower in followers {
        let transcript = follower.await.unwrap();
        let last = transcript.messages.last().expect("a message");
        assert_eq!(last["status"], "succeeded", "{:?}", transcript.messages);
        assert_eq!(last["attempts"], 1, "each job ran exactly once: {last}");
        assert_eq!(transcript.close_code, Some(1000));
    }
    assert_eq!(env.count_rows("users").await, 10);
    // Either instance serves any user.
    let r = client
        .post(format!("{base_b}/api/v1/auth/login/"))
        .json(&json!({"username": "multi_3", "password": "multi-pass-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
