//! An API instance killed while WebSocket clients wait on their jobs: the clients reconnect
//! to the other instance and get each job's final state from it (MySQL is the record, so
//! nothing depended on the instance that died).

use std::time::Duration;

use dispatch_tests::process::{start_api, Binary};
use dispatch_tests::ws::{self, close_code, connect, follow, next_json};
use dispatch_tests::{call_at, TestEnv};
use futures::StreamExt;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_killed_instance_get_the_final_state_from_the_other() {
    let mut env = TestEnv::new();
    let (mut doomed, doomed_base) = start_api(&mut env, &[]).await;
    let (_survivor, survivor_base) = start_api(&mut env, &[]).await;
    let client = reqwest::Client::new();

    // Registrations queued with no worker running: their followers wait.
    let mut jobs = Vec::new();
    for i in 0..8 {
        let username = format!("failover_{i}");
        let (status, accepted) = call_at(
            &client,
            &format!("{doomed_base}/api/v1/auth/register/"),
            Method::POST,
            None,
            Some(&json!({
                "username": username,
                "email": format!("{username}@example.com"),
                "password": "failover-password-1",
            })),
        )
        .await;
        assert_eq!(status, 202, "{accepted}");
        jobs.push(accepted["job_id"].as_str().expect("a job id").to_owned());
    }
    let job_socket = |base: &str, job: &str| ws::url(base, &format!("/ws/jobs/{job}/"));
    let mut sockets = Vec::new();
    for job in &jobs {
        let mut socket = connect(&job_socket(&doomed_base, job), &[]).await;
        let first = next_json(&mut socket, Duration::from_secs(10)).await;
        assert_eq!(
            (first["id"].as_str(), first["status"].as_str()),
            (Some(job.as_str()), Some("queued"))
        );
        sockets.push(socket);
    }

    doomed.kill();
    for mut socket in sockets {
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(_)) = socket.next().await {}
        })
        .await;
        assert!(ended.is_ok(), "a socket of the killed instance stayed open");
    }

    // Half reconnect before the jobs run, half after they have finished.
    let (early, late) = jobs.split_at(jobs.len() / 2);
    let mut early_sockets = Vec::new();
    for job in early {
        let mut socket = connect(&job_socket(&survivor_base, job), &[]).await;
        let first = next_json(&mut socket, Duration::from_secs(10)).await;
        assert_eq!(first["status"], "queued");
        early_sockets.push(socket);
    }
    let _worker = Binary::start("dispatch-worker", &env, &[]);
    for (job, mut socket) in early.iter().zip(early_sockets) {
        let last = loop {
            let message = next_json(&mut socket, Duration::from_secs(60)).await;
            if message["status"] == "succeeded" || message["status"] == "failed" {
                break message;
            }
        };
        assert_eq!(last["id"], job.as_str());
        assert_eq!(last["status"], "succeeded");
        assert_eq!(close_code(&mut socket, Duration::from_secs(10)).await, Some(1000));
    }
    for job in late {
        dispatch_tests::process::await_job_state(
            &format!("{survivor_base}/api/v1/jobs/{job}/"),
            Duration::from_secs(30),
            "the job to finish",
            |j| j["status"] == "succeeded",
        )
        .await;
        let transcript =
            follow(&job_socket(&survivor_base, job), &[], Duration::from_secs(10)).await;
        assert_eq!(transcript.messages.len(), 1, "{:?}", transcript.messages);
        assert_eq!(transcript.messages[0]["status"], "succeeded");
        assert_eq!(transcript.close_code, Some(1000));
    }
}
