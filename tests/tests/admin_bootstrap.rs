use std::process::Command;
use std::time::Duration;

use dispatch_tests::process::{free_port, Binary};
use dispatch_tests::{wait_until, TestEnv};
use serde_json::{json, Value};

fn api_command(env: &TestEnv) -> Command {
    let path = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("dispatch-api");
    let mut command = Command::new(path);
    command.env_clear();
    for (k, v) in env.vars() {
        command.env(k, v);
    }
    command
}

async fn login(base: &str, username: &str, password: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login/"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn create_superuser_makes_an_admin_and_refuses_weak_or_duplicate_ones() {
    let mut env = TestEnv::new();
    let weak = api_command(&env)
        .args([
            "create-superuser",
            "--username",
            "boss",
            "--email",
            "boss@example.com",
        ])
        .env("DISPATCH_ADMIN_PASSWORD", "12345678")
        .output()
        .unwrap();
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));

    let created = api_command(&env)
        .args([
            "create-superuser",
            "--username",
            "boss",
            "--email",
            "boss@example.com",
        ])
        .env("DISPATCH_ADMIN_PASSWORD", "strong-boss-pass")
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let again = api_command(&env)
        .args([
            "create-superuser",
            "--username",
            "boss",
            "--email",
            "boss@example.com",
        ])
        .env("DISPATCH_ADMIN_PASSWORD", "strong-boss-pass")
        .output()
        .unwrap();
    assert!(!again.status.success());

    let bind = format!("127.0.0.1:{}", free_port());
    env.set("DISPATCH_BIND", &bind);
    let _api = Binary::start("dispatch-api", &env, &[]);
    let base = format!("http://{bind}");
    wait_until(Duration::from_secs(30), "the API", || {
        let url = format!("{base}/readyz");
        async move { (reqwest::get(&url).await.ok()?.status() == 200).then_some(()) }
    })
    .await;
    let (status, body) = login(&base, "boss", "strong-boss-pass").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["is_superuser"], true);
}

#[tokio::test]
async fn the_admin_from_the_environment_is_created_at_start_once() {
    let mut env = TestEnv::new();
    let bind = format!("127.0.0.1:{}", free_port());
    env.set("DISPATCH_BIND", &bind);
    let admin = [
        ("DISPATCH_ADMIN_USERNAME", "root_admin"),
        ("DISPATCH_ADMIN_EMAIL", "root@example.com"),
        ("DISPATCH_ADMIN_PASSWORD", "bootstrap-pass-1"),
    ];
    let base = format!("http://{bind}");
    for _ in 0..2 {
        let mut api = Binary::start("dispatch-api", &env, &admin);
        wait_until(Duration::from_secs(30), "the API", || {
            let url = format!("{base}/readyz");
            async move { (reqwest::get(&url).await.ok()?.status() == 200).then_some(()) }
        })
        .await;
        let (status, body) = login(&base, "root_admin", "bootstrap-pass-1").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["is_superuser"], true);
        assert!(
            api.terminate(Duration::from_secs(15)).await,
            "clean shutdown"
        );
    }
    assert_eq!(env.count_rows("users").await, 1);

    // A weak bootstrap password stops the binary with a message.
    let output = api_command(&env)
        .env("DISPATCH_ADMIN_USERNAME", "weak_admin")
        .env("DISPATCH_ADMIN_EMAIL", "weak@example.com")
        .env("DISPATCH_ADMIN_PASSWORD", "short")
        .env("DISPATCH_BIND", format!("127.0.0.1:{}", free_port()))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DISPATCH_ADMIN_PASSWORD"));
}
