use dispatch_tests::Calls;
use dispatch_tests::TestApp;
use serde_json::json;

async fn attempt(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(format!("{base}/api/v1/auth/login/"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn five_failures_block_the_account_for_30s_across_instances() {
    let app = TestApp::spawn().await;
    let second = app.spawn_second_instance().await;
    app.register("guarded", "guarded-pass-1").await;
    for i in 0..5 {
        // Alternate instances: the count is shared through Redis.
        let base = if i % 2 == 0 { app.address.clone() } else { second.clone() };
        assert_eq!(attempt(&app.client, &base, "guarded", "wrong-guess").await.status(), 401);
    }
    let r = attempt(&app.client, &second, "guarded", "guarded-pass-1").await;
    assert_eq!(r.status(), 429, "even the right password waits");
    let retry_after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // Another account is not affected.
    app.register("bystander", "bystander-pass-1").await;
    assert_eq!(
        attempt(&app.client, &app.address, "bystander", "bystander-pass-1").await.status(),
        200
    );
}

#[tokio::test]
async fn a_success_resets_the_account_count() {
    let app = TestApp::spawn().await;
    app.register("forgetful", "forgetful-pass-1").await;
    // Twice four failures, each time followed by a success: never five in a row.
    for _ in 0..2 {
        for _ in 0..4 {
            let r = attempt(&app.client, &app.address, "forgetful", "wrong").await;
            assert_eq!(r.status(), 401);
        }
        let r = attempt(&app.client, &app.address, "forgetful", "forgetful-pass-1").await;
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn fifty_failures_from_one_address_block_it() {
    let app = TestApp::spawn_without_worker().await;
    for i in 0..50 {
        let r = attempt(&app.client, &app.address, &format!("nobody_{i}"), "whatever-pass").await;
        assert_eq!(r.status(), 401);
    }
    let r = attempt(&app.client, &app.address, "someone_new", "whatever-pass").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn username_and_email_failures_share_one_count() {
    let app = TestApp::spawn().await;
    app.register("twonames", "twonames-pass-1").await;
    // Three by username, two by email (in another case): five for the one account.
    for login in
        ["twonames", "TwoNames", "twonames", "twonames@example.com", "TWONAMES@example.com"]
    {
        let r = attempt(&app.client, &app.address, login, "wrong-guess").await;
        assert_eq!(r.status(), 401, "{login}");
    }
    for login in ["twonames", "twonames@example.com"] {
        let r = attempt(&app.client, &app.address, login, "twonames-pass-1").await;
        assert_eq!(r.status(), 429, "{login} is blocked too");
    }
    // Unknown names keep a count of their own, normalised.
    for login in ["Ghost", "ghost ", "GHOST", "ghost", "gHost"] {
        let r = attempt(&app.client, &app.address, login, "whatever-1").await;
        assert_eq!(r.status(), 401, "{login}");
    }
    assert_eq!(attempt(&app.client, &app.address, "ghost", "whatever-1").await.status(), 429);
}

/// Registrations are limited per client address, across instances: probes of taken emails
/// (each a 409 that tells the email is taken) count as much as new accounts.
#[tokio::test]
async fn registrations_are_limited_per_client_address() {
    let mut env = dispatch_tests::TestEnv::new();
    env.set("DISPATCH_REGISTRATION_LIMIT", "5");
    let app = TestApp::spawn_env(env, true).await;
    let second = app.spawn_second_instance().await;
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..7 {
        let base = if i % 2 == 0 { app.address.clone() } else { second.clone() };
        let response = client
            .post(format!("{base}/api/v1/auth/register/"))
            .json(&json!({
                "username": format!("prober{i}"),
                "email": "probe@example.com",
                "password": "probe-password-1",
            }))
            .send()
            .await
            .expect("registration");
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
        }
        statuses.push(response.status().as_u16());
        if i == 0 {
            app.await_job(
                response.json::<serde_json::Value>().await.expect("job")["job_id"]
                    .as_str()
                    .expect("a job id"),
                None,
            )
            .await;
        }
    }
    assert_eq!(statuses, [202, 409, 409, 409, 409, 429, 429]);
    assert_eq!(app.env.count_rows("users").await, 1);
}

/// Password changes (each an Argon2 hash) are limited per user.
#[tokio::test]
async fn password_changes_are_limited_per_user() {
    let app = TestApp::spawn().await;
    let user = app.user("changer").await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (status, _) = app
            .send(reqwest::Method::POST, "/api/v1/auth/profile/password/", &user.token, &json!({"old_password": "wrong-password", "new_password_1": "a-new-password-1", "new_password_2": "a-new-password-1"}))
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses[..10], [400; 10]);
    assert_eq!(statuses[10..], [429, 429]);
}
