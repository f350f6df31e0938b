//! A plaintext password never reaches MySQL, Redis or the logs.

use std::time::Duration;

use dispatch_tests::process::{await_job_state, start_logged_api, Binary};
use dispatch_tests::TestEnv;
use serde_json::{json, Value};

const SECRET: &str = "Pl41ntext-Needle-7731";

#[tokio::test]
async fn the_plaintext_password_is_nowhere_but_in_the_request() {
    let mut env = TestEnv::new();
    let dir = std::env::temp_dir().join(format!("dispatch-secrets-{}", env.id));
    std::fs::create_dir_all(&dir).unwrap();
    let api_log = dir.join("api.log");
    let worker_log = dir.join("worker.log");
    let (_api, base) = start_logged_api(&mut env, &api_log).await;
    let client = reqwest::Client::new();

    // Queued, with no worker yet: look at Redis while the job waits there.
    let r = client
        .post(format!("{base}/api/v1/auth/register/"))
        .json(
            &json!({"username": "secretive", "email": "secretive@example.com", "password": SECRET}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let accepted: Value = r.json().await.unwrap();
    let mut redis = env.redis().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", env.namespace))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "the job id is queued in Redis");
    for key in &keys {
        let dump: Option<Vec<u8>> =
            redis::cmd("DUMP").arg(key).query_async(&mut redis).await.unwrap();
        let dump = String::from_utf8_lossy(&dump.unwrap_or_default()).into_owned();
        assert!(!dump.contains(SECRET), "Redis key {key} holds the password");
        assert!(!dump.contains("argon2"), "Redis key {key} holds the password hash");
    }
    let payload_with_secret =
        env.count_matching("jobs", &format!("payload LIKE '%{SECRET}%'")).await;
    assert_eq!(payload_with_secret, 0);

    let _worker =
        Binary::start_logged("dispatch-worker", &env, &[("RUST_LOG", "debug")], &worker_log);
    let status_url = format!("{base}{}", accepted["status_url"].as_str().unwrap());
    let job = await_job_state(&status_url, Duration::from_secs(30), "registration", |j| {
        j["status"] == "succeeded"
    })
    .await;
    assert!(!job.to_string().contains(SECRET));
    for password in [SECRET, "wrong-guess-123"] {
        client
            .post(format!("{base}/api/v1/auth/login/"))
            .json(&json!({"username": "secretive", "password": password}))
            .send()
            .await
            .unwrap();
    }

    for table in ["users", "jobs", "refresh_tokens"] {
        let columns = match table {
            "users" => "CONCAT_WS(' ', username, email, first_name, last_name, password_hash)",
            "jobs" => "CONCAT_WS(' ', payload, result, error)",
            _ => "CONCAT_WS(' ', id, family_id)",
        };
        let hits = env.count_matching(table, &format!("{columns} LIKE '%{SECRET}%'")).await;
        assert_eq!(hits, 0, "{table} holds the password");
    }
    // The hash left the job row when the job finished.
    assert_eq!(env.count_matching("jobs", "payload IS NOT NULL").await, 0);
    let stored: i64 = env.count_matching("users", "password_hash LIKE '$argon2id$%'").await;
    assert_eq!(stored, 1);

    for log in [&api_log, &worker_log] {
        let text = std::fs::read_to_string(log).unwrap();
        assert!(!text.is_empty(), "{} is empty", log.display());
        assert!(!text.contains(SECRET), "{} holds the password", log.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
