use std::time::{Duration, Instant};

use dispatch_tests::{wait_until, TestApp};
use serde_json::{json, Value};

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn login_body(app: &TestApp, username: &str, password: &str) -> Value {
    let (status, body) = json_of(
        app.post("/api/v1/auth/login/", &json!({"username": username, "password": password})).await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Registers a user and has a second API instance serve (and so cache) them; returns the
/// registration body, the access token and the profile URL on the second instance.
async fn known_to_a_second_instance(
    app: &TestApp,
    username: &str,
    password: &str,
) -> (Value, String, String) {
    let second = app.spawn_second_instance().await;
    let me = app.register(username, password).await;
    let token = me["tokens"]["access"].as_str().unwrap().to_owned();
    let on_second = format!("{second}/api/v1/auth/profile/");
    let r = app.client.get(&on_second).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    (me, token, on_second)
}

/// Waits (at most the 5 s api.md §3 allows) until `url` refuses `token`.
async fn refused_within_5s(app: &TestApp, url: &str, token: &str) {
    let started = Instant::now();
    wait_until(Duration::from_secs(5), "the token to be refused", || {
        let request = app.client.get(url).bearer_auth(token).send();
        async move { (request.await.ok()?.status() == 401).then_some(()) }
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(5));
}

async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    json_of(app.post("/api/v1/auth/token/refresh/", &json!({"refresh": token})).await).await
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_only_that_login() {
    let app = TestApp::spawn().await;
    app.register("rotator", "rotate-pass-1").await;
    let first_login = login_body(&app, "rotator", "rotate-pass-1").await;
    let other_login = login_body(&app, "rotator", "rotate-pass-1").await;
    let r0 = first_login["tokens"]["refresh"].as_str().unwrap().to_owned();

    let (status, pair) = refresh(&app, &r0).await;
    assert_eq!(status, 200);
    let r1 = pair["refresh"].as_str().unwrap().to_owned();
    assert_ne!(r0, r1);
    let access = pair["access"].as_str().unwrap();
    assert_eq!(app.get_auth("/api/v1/auth/profile/", access).await.status(), 200);

    // The rotated token no longer works, and replaying it ends the whole login.
    assert_eq!(refresh(&app, &r0).await.0, 401);
    assert_eq!(refresh(&app, &r1).await.0, 401, "the family is revoked");
    // The other login is unaffected.
    let other = other_login["tokens"]["refresh"].as_str().unwrap();
    assert_eq!(refresh(&app, other).await.0, 200);
    // An access token is not a refresh token.
    assert_eq!(refresh(&app, access).await.0, 401);
    assert_eq!(refresh(&app, "garbage").await.0, 401);
}

#[tokio::test]
async fn verify_answers_valid_or_401() {
    let app = TestApp::spawn().await;
    let body = app.register("verifier", "verify-pass-1").await;
    let access = body["tokens"]["access"].as_str().unwrap();
    let (status, message) =
        json_of(app.post("/api/v1/auth/token/verify/", &json!({"token": access})).await).await;
    assert_eq!(status, 200);
    assert_eq!(message, json!({"message": "Token is valid"}));
    let (status, _) =
        json_of(app.post("/api/v1/auth/token/verify/", &json!({"token": "x.y.z"})).await).await;
    assert_eq!(status, 401);
    // A refresh token verifies until it is rotated.
    let refresh_token = body["tokens"]["refresh"].as_str().unwrap();
    let verify = json!({"token": refresh_token});
    let verify_path = "/api/v1/auth/token/verify/";
    assert_eq!(app.post(verify_path, &verify).await.status(), 200);
    assert_eq!(refresh(&app, refresh_token).await.0, 200);
    assert_eq!(app.post(verify_path, &verify).await.status(), 401);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    app.register("leaver", "leaver-pass-1").await;
    let a = login_body(&app, "leaver", "leaver-pass-1").await;
    let b = login_body(&app, "leaver", "leaver-pass-1").await;
    let c = login_body(&app, "leaver", "leaver-pass-1").await;
    let access = a["tokens"]["access"].as_str().unwrap();
    let logout = |body: Value| {
        app.client.post(app.url("/api/v1/auth/logout/")).bearer_auth(access).json(&body).send()
    };
    let r = logout(json!({})).await.unwrap();
    assert_eq!(r.status(), 400);
    let r = logout(json!({"refresh": a["tokens"]["refresh"]})).await.unwrap();
    assert_eq!(r.status(), 204);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("access_token=;") && cookie.contains("Max-Age=0"), "{cookie}");
    assert_eq!(refresh(&app, a["tokens"]["refresh"].as_str().unwrap()).await.0, 401);
    assert_eq!(refresh(&app, b["tokens"]["refresh"].as_str().unwrap()).await.0, 200);
    let r = logout(json!({"all": true})).await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(refresh(&app, c["tokens"]["refresh"].as_str().unwrap()).await.0, 401);
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout/"))
        .json(&json!({"all": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn profile_can_be_patched_and_replaced_with_validation_and_uniqueness() {
    let app = TestApp::spawn().await;
    app.register("other_person", "other-pass-1").await;
    let me = app.register("editor", "editor-pass-1").await;
    let token = me["tokens"]["access"].as_str().unwrap();
    let send = |method: reqwest::Method, body: Value| {
        app.client
            .request(method, app.url("/api/v1/auth/profile/"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let (status, body) =
        json_of(send(reqwest::Method::PATCH, json!({"first_name": "Edith"})).await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["first_name"], "Edith");
    assert_eq!(body["username"], "editor");

    let (status, body) =
        json_of(send(reqwest::Method::PATCH, json!({"username": "Other_Person"})).await.unwrap())
            .await;
    assert_eq!(status, 409);
    assert!(body["errors"]["username"].is_array());
    let (status, body) =
        json_of(send(reqwest::Method::PATCH, json!({"email": "bad"})).await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["email"].is_array());
    let (status, body) =
        json_of(send(reqwest::Method::PUT, json!({"first_name": "x"})).await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["username"].is_array() && body["errors"]["email"].is_array());

    let (status, body) = json_of(
        send(reqwest::Method::PUT, json!({"username": "Editor2", "email": "ed2@example.com"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["username"], "editor2");
    assert_eq!(body["first_name"], "", "PUT resets omitted names");
    login_body(&app, "editor2", "editor-pass-1").await;
    login_body(&app, "ed2@example.com", "editor-pass-1").await;
}

#[tokio::test]
async fn password_change_checks_the_old_one_and_replaces_it() {
    let app = TestApp::spawn().await;
    let me = app.register("changer", "first-pass-1").await;
    let token = me["tokens"]["access"].as_str().unwrap();
    let change = |old: &str, new1: &str, new2: &str| {
        app.client
            .post(app.url("/api/v1/auth/profile/password/"))
            .bearer_auth(token)
            .json(&json!({"old_password": old, "new_password_1": new1, "new_password_2": new2}))
            .send()
    };
    for (old, new1, new2, field) in [
        ("wrong-pass", "second-pass-2", "second-pass-2", "old_password"),
        ("first-pass-1", "second-pass-2", "different-2", "new_password_2"),
        ("first-pass-1", "123456789", "123456789", "new_password_1"),
    ] {
        let (status, body) = json_of(change(old, new1, new2).await.unwrap()).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["errors"][field].is_array(), "{body}");
    }
    let (status, body) =
        json_of(change("first-pass-1", "second-pass-2", "second-pass-2").await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"detail": "password updated successfully"}));
    let (status, _) = json_of(
        app.post(
            "/api/v1/auth/login/",
            &json!({"username": "changer", "password": "first-pass-1"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 401);
    login_body(&app, "changer", "second-pass-2").await;
}

#[tokio::test]
async fn a_deleted_users_token_is_rejected_within_5s_on_another_instance() {
    let app = TestApp::spawn().await;
    let (me, token, on_second) =
        known_to_a_second_instance(&app, "ephemeral", "short-lived-1").await;

    let r = app
        .client
        .delete(app.url("/api/v1/auth/profile/"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    refused_within_5s(&app, &on_second, &token).await;
    let refresh_token = me["tokens"]["refresh"].as_str().unwrap();
    assert_eq!(refresh(&app, refresh_token).await.0, 401);
    assert_eq!(app.env.count_rows("users").await, 0);
}

#[tokio::test]
async fn a_deactivated_user_is_refused_within_5s_and_login_is_403() {
    let app = TestApp::spawn().await;
    let (_, token, on_second) = known_to_a_second_instance(&app, "sleeper", "sleeper-pass-1").await;
    // Deactivated behind the API's back (as an operator would in SQL): only the cache's
    // lifetime stands between the change and its effect.
    app.env.execute("UPDATE users SET is_active = FALSE WHERE username = 'sleeper'").await;
    refused_within_5s(&app, &on_second, &token).await;
    let (status, body) = json_of(
        app.post(
            "/api/v1/auth/login/",
            &json!({"username": "sleeper", "password": "sleeper-pass-1"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // A wrong password does not reveal the account state.
    let (status, _) = json_of(
        app.post("/api/v1/auth/login/", &json!({"username": "sleeper", "password": "nope-nope-1"}))
            .await,
    )
    .await;
    assert_eq!(status, 401);
}

/// 16 refreshes of one token at once, over two instances: one wins, and because the other
/// 15 replayed a rotated token, the winner's new token is revoked with its family too.
#[tokio::test]
async fn concurrent_refreshes_have_one_winner_whose_token_the_reuse_revokes() {
    let app = TestApp::spawn().await;
    let second = app.spawn_second_instance().await;
    app.register("racer", "race-pass-123").await;
    for trial in 0..5 {
        let login = login_body(&app, "racer", "race-pass-123").await;
        let token = login["tokens"]["refresh"].as_str().unwrap().to_owned();
        let attempts = (0..16).map(|i| {
            let base = if i % 2 == 0 { app.address.clone() } else { second.clone() };
            let (client, token) = (app.client.clone(), token.clone());
            async move {
                let r = client
                    .post(format!("{base}/api/v1/auth/token/refresh/"))
                    .json(&json!({"refresh": token}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        });
        let outcomes = futures::future::join_all(attempts).await;
        let winners: Vec<&Value> =
            outcomes.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
        assert_eq!(winners.len(), 1, "trial {trial}: {outcomes:?}");
        assert!(outcomes.iter().all(|(s, _)| *s == 200 || *s == 401));
        let successor = winners[0]["refresh"].as_str().unwrap();
        let (status, _) = refresh(&app, successor).await;
        assert_eq!(status, 401, "trial {trial}: the winner's token survived the reuse");
    }
}
