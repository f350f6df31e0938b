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
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            second.clone()
        };
        assert_eq!(
            attempt(&app.client, &base, "guarded", "wrong-guess")
                .await
                .status(),
            401
        );
    }
    let r = attempt(&app.client, &second, "guarded", "guarded-pass-1").await;
    assert_eq!(r.status(), 429, "even the right password waits");
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // Another account is not affected.
    app.register("bystander", "bystander-pass-1").await;
    assert_eq!(
        attempt(&app.client, &app.address, "bystander", "bystander-pass-1")
            .await
            .status(),
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
        let r = attempt(
            &app.client,
            &app.address,
            &format!("nobody_{i}"),
            "whatever-pass",
        )
        .await;
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
    for login in [
        "twonames",
        "TwoNames",
        "twonames",
        "twonames@example.com",
        "TWONAMES@example.com",
    ] {
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
    assert_eq!(
        attempt(&app.client, &app.address, "ghost", "whatever-1")
            .await
            .status(),
        429
    );
}
