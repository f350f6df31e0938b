use std::process::Command;
use std::time::Duration;

use dispatch_tests::process::{command, free_port, start_api};
use dispatch_tests::TestEnv;
use serde_json::{json, Value};

fn api_command(env: &TestEnv) -> Command {
    command("dispatch-api", env)
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
    let create_boss = |password: &str| {
        api_command(&env)
            .args(["create-superuser", "--username", "boss", "--email", "boss@example.com"])
            .env("DISPATCH_ADMIN_PASSWORD", password)
            .output()
            .unwrap()
    };
    let weak = create_boss("12345678");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
    let created = create_boss("strong-boss-pass");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let again = create_boss("strong-boss-pass");
    assert!(!again.status.success());

    let (_api, base) = start_api(&mut env, &[]).await;
    let (status, body) = login(&base, "boss", "strong-boss-pass").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["is_superuser"], true);
}

#[tokio::test]
async fn the_admin_from_the_environment_is_created_at_start_once() {
    let mut env = TestEnv::new();
    let admin = [
        ("DISPATCH_ADMIN_USERNAME", "root_admin"),
        ("DISPATCH_ADMIN_EMAIL", "root@example.com"),
        ("DISPATCH_ADMIN_PASSWORD", "bootstrap-pass-1"),
    ];
    for _ in 0..2 {
        let (mut api, base) = start_api(&mut env, &admin).await;
        let (status, body) = login(&base, "root_admin", "bootstrap-pass-1").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["is_superuser"], true);
        assert!(api.terminate(Duration::from_secs(15)).await, "clean shutdown");
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
