//! Logs as operators consume them: JSON lines on request, no colour codes off a terminal,
//! and a request id on every request's log lines and in its response.

use dispatch_tests::process::{command, start_logged_api};
use dispatch_tests::{wait_until, Binary, TestEnv};
use serde_json::Value;
use std::time::Duration;

async fn get(url: &str, request_id: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn json_lines_carry_the_request_id_that_the_response_echoes() {
    let mut env = TestEnv::new();
    env.set("DISPATCH_LOG_FORMAT", "json");
    let dir = std::env::temp_dir().join(format!("dispatch-log-{}", env.id));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("api.log");
    let (_api, base) = start_logged_api(&mut env, &log).await;

    let r = get(&format!("{base}/api/v1/jobs/"), Some("trace-abc-1")).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["x-request-id"], "trace-abc-1");
    let r = get(&format!("{base}/healthz"), Some("not a valid id")).await;
    let generated = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");

    let line = wait_until(Duration::from_secs(10), "the request's log line", || {
        let log = log.clone();
        async move {
            let text = std::fs::read_to_string(&log).ok()?;
            text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|l| {
                l["span"]["request_id"] == "trace-abc-1" && l["fields"]["message"] == "request"
            })
        }
    })
    .await;
    assert_eq!(line["fields"]["status"], 401);
    let text = std::fs::read_to_string(&log).unwrap();
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        assert!(serde_json::from_str::<Value>(l).is_ok(), "not a JSON line: {l}");
    }
    assert!(!text.contains('\u{1b}'), "no colour codes");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_job_row_and_the_workers_lines_carry_the_id_of_the_request_that_started_it() {
    let mut env = TestEnv::new();
    env.set("DISPATCH_LOG_FORMAT", "json");
    let dir = std::env::temp_dir().join(format!("dispatch-log-{}", env.id));
    std::fs::create_dir_all(&dir).unwrap();
    let (_api, base) = start_logged_api(&mut env, &dir.join("api.log")).await;
    let worker_log = dir.join("worker.log");
    let _worker = Binary::start_logged("dispatch-worker", &env, &[], &worker_log);

    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/register/"))
        .header("x-request-id", "signup-trace-7")
        .json(&serde_json::json!({
            "username": "traced", "email": "traced@example.com", "password": "traced-pass-1"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let line = wait_until(Duration::from_secs(20), "the worker's line for the job", || {
        let log = worker_log.clone();
        async move {
            let text = std::fs::read_to_string(&log).ok()?;
            text.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|l| l["fields"]["message"] == "job succeeded")
        }
    })
    .await;
    assert_eq!(line["span"]["request_id"], "signup-trace-7", "{line}");
    assert_eq!(line["span"]["kind"], "register_user", "{line}");
    assert_eq!(env.count_matching("jobs", "request_id = 'signup-trace-7'").await, 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn text_logs_off_a_terminal_have_no_colour_and_a_wrong_format_is_refused() {
    let mut env = TestEnv::new();
    let dir = std::env::temp_dir().join(format!("dispatch-log-{}", env.id));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("api.log");
    let (_api, base) = start_logged_api(&mut env, &log).await;
    get(&format!("{base}/healthz"), Some("plain-1")).await;
    let text = wait_until(Duration::from_secs(10), "the request's log line", || {
        let log = log.clone();
        async move {
            let text = std::fs::read_to_string(&log).ok()?;
            text.contains("request_id=plain-1").then_some(text)
        }
    })
    .await;
    assert!(!text.contains('\u{1b}'), "no colour codes in a file");
    let _ = std::fs::remove_dir_all(&dir);

    for name in ["dispatch-api", "dispatch-worker"] {
        let output = command(name, &env).env("DISPATCH_LOG_FORMAT", "xml").output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("DISPATCH_LOG_FORMAT"), "{name}: {stderr}");
    }
}
