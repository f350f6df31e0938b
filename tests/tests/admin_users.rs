//! The admin users API (api.md §3): admins only, searchable and
//! sortable, deactivation taking effect at once, and never without an active admin.

use dispatch_tests::Calls;
use std::time::Duration;

use dispatch_tests::ws::{close_code, connect};
use dispatch_tests::{call_at, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

fn usernames(page: &Value) -> Vec<&str> {
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn only_admins_may_use_it() {
    let app = TestApp::spawn().await;
    let user = app.user("plain").await;
    let path = format!("/api/v1/admin/users/{}/", user.id);
    for (method, path, body) in [
        (Method::GET, "/api/v1/admin/users/".to_owned(), None),
        (Method::GET, path.clone(), None),
        (Method::PATCH, path.clone(), Some(json!({"is_superuser": true}))),
        (Method::DELETE, path.clone(), None),
    ] {
        let (status, problem) =
            app.call(method.clone(), &path, Some(&user.token), body.as_ref()).await;
        assert_eq!(status, 403, "{method} {path}: {problem}");
        let (status, _) = app.call(method.clone(), &path, None, body.as_ref()).await;
        assert_eq!(status, 401, "{method} {path} without a token");
    }
    let (_, me) = app.profile(&user.token).await;
    assert_eq!(me["is_superuser"], false, "nothing changed");
}

/// A non-admin is refused before the body or the query is read: a malformed body, a bad
/// ordering or a bad id answer 403 (401 without a token), never a validation error that
/// would tell them about the admin's fields.
#[tokio::test]
async fn non_admins_are_refused_before_their_input_is_read() {
    let app = TestApp::spawn().await;
    let user = app.user("plain").await;
    let path = format!("/api/v1/admin/users/{}/", user.id);
    let malformed = json!({"is_superuser": "yes", "daily_task_limit": -1});
    for (method, path, body) in [
        (Method::GET, "/api/v1/admin/users/?ordering=nope".to_owned(), None),
        (Method::GET, "/api/v1/admin/users/?page=0".to_owned(), None),
        (Method::GET, "/api/v1/admin/users/not-an-id/".to_owned(), None),
        (Method::PATCH, path.clone(), Some(malformed.clone())),
        (Method::PATCH, "/api/v1/admin/users/not-an-id/".to_owned(), Some(malformed.clone())),
        (Method::DELETE, "/api/v1/admin/users/not-an-id/".to_owned(), None),
    ] {
        let (status, problem) =
            app.call(method.clone(), &path, Some(&user.token), body.as_ref()).await;
        assert_eq!(status, 403, "{method} {path}: {problem}");
        assert!(problem["errors"].is_null(), "{method} {path}: {problem}");
        let (status, _) = app.call(method.clone(), &path, None, body.as_ref()).await;
        assert_eq!(status, 401, "{method} {path} without a token");
    }
}

#[tokio::test]
async fn lists_search_sort_and_page() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    for name in ["carol", "alice", "bob"] {
        app.user(name).await;
    }
    let (status, _) = app
        .send(
            Method::PATCH,
            "/api/v1/auth/profile/",
            &app.user("dave").await.token,
            &json!({"first_name": "Ada", "last_name": "LOVELACE"}),
        )
        .await;
    assert_eq!(status, 200);
    let list = |query: &str| {
        let path = format!("/api/v1/admin/users/{query}");
        let (app, token) = (&app, root.token.clone());
        async move { app.read(&path, &token).await }
    };
    let (_, all) = list("").await;
    assert_eq!(all["count"], 5);
    assert_eq!(usernames(&all), ["alice", "bob", "carol", "dave", "root"]);
    let (_, desc) = list("?ordering=-username").await;
    assert_eq!(usernames(&desc), ["root", "dave", "carol", "bob", "alice"]);
    let (_, joined) = list("?ordering=-date_joined&page_size=2").await;
    assert_eq!(usernames(&joined), ["dave", "bob"]);
    assert_eq!(joined["count"], 5);
    assert!(joined["next"].as_str().unwrap().contains("page=2"));
    let (_, by_name) = list("?search=lovel").await;
    assert_eq!(usernames(&by_name), ["dave"]);
    let (_, by_email) = list("?search=ALICE@EXAMPLE").await;
    assert_eq!(usernames(&by_email), ["alice"]);
    // Every column both ways. Values are made distinct, so descending is ascending reversed.
    for (i, name) in ["alice", "bob", "carol", "dave", "root"].iter().enumerate() {
        let first = (b'e' - i as u8) as char;
        let last = (b'a' + (i as u8 * 3) % 5) as char;
        app.env
            .execute(&format!(
                "UPDATE users SET first_name = 'F{first}', last_name = 'L{last}', \
                 last_login = NOW(6) - INTERVAL {i} MINUTE WHERE username = '{name}'"
            ))
            .await;
    }
    for field in ["username", "email", "first_name", "last_name", "date_joined", "last_login"] {
        let (status, up) = list(&format!("?ordering={field}")).await;
        assert_eq!(status, 200, "{field}");
        let (_, down) = list(&format!("?ordering=-{field}")).await;
        let mut reversed = usernames(&down);
        reversed.reverse();
        assert_eq!(usernames(&up), reversed, "{field}");
        let values: Vec<String> = up["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u[field].as_str().unwrap_or_default().to_owned())
            .collect();
        let mut sorted = values.clone();
        sorted.sort();
        assert_eq!(values, sorted, "{field} ascends");
    }
    app.env.execute("UPDATE users SET is_active = FALSE WHERE username IN ('bob', 'dave')").await;
    let (_, inactive_first) = list("?ordering=is_active,username").await;
    assert_eq!(usernames(&inactive_first), ["bob", "dave", "alice", "carol", "root"]);
    let (_, active_first) = list("?ordering=-is_active,-username").await;
    assert_eq!(usernames(&active_first), ["root", "carol", "alice", "dave", "bob"]);
    let (status, problem) = list("?ordering=password_hash").await;
    assert_eq!(status, 400);
    assert!(problem["errors"]["ordering"].is_array());
    assert!(!all.to_string().contains("password"), "no hash leaves the API");
}

#[tokio::test]
async fn deactivation_takes_effect_at_once_and_reactivation_restores_login() {
    let app = TestApp::spawn().await;
    let second = app.spawn_second_instance().await;
    let root = app.admin("root").await;
    let user = app.user("worker").await;
    let path = format!("/api/v1/admin/users/{}/", user.id);
    // The socket and the cached user live on the second instance; the admin uses the first.
    let mut socket = connect(
        &format!("{}/ws/tasks/", second.replacen("http://", "ws://", 1)),
        &[("authorization", &format!("Bearer {}", user.token))],
    )
    .await;
    let on_second = format!("{second}/api/v1/auth/profile/");
    let profile = || call_at(&app.client, &on_second, Method::GET, Some(&user.token), None);
    assert_eq!(profile().await.0, 200);

    let patch = json!({"is_active": false, "daily_task_limit": 2});
    let (status, changed) = app.send(Method::PATCH, &path, &root.token, &patch).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["is_active"], false);
    assert_eq!(changed["daily_task_limit"], 2);
    let started = std::time::Instant::now();
    assert_eq!(close_code(&mut socket, Duration::from_secs(5)).await, Some(4401));
    assert_eq!(profile().await.0, 401, "refused on the other instance too");
    assert!(started.elapsed() < Duration::from_secs(5));
    let login =
        json!({"username": user.username, "password": format!("{}-password-1", user.username)});
    let (status, _) = app.call(Method::POST, "/api/v1/auth/login/", None, Some(&login)).await;
    assert_eq!(status, 403);

    let reactivate = json!({"is_active": true});
    let (status, _) = app.send(Method::PATCH, &path, &root.token, &reactivate).await;
    assert_eq!(status, 200);
    let (status, body) = app.call(Method::POST, "/api/v1/auth/login/", None, Some(&login)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["daily_task_limit"], 2);
}

#[tokio::test]
async fn the_last_active_admin_stays() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let me = format!("/api/v1/admin/users/{}/", root.id);
    for (method, body) in [
        (Method::PATCH, Some(json!({"is_active": false}))),
        (Method::PATCH, Some(json!({"is_superuser": false}))),
        (Method::DELETE, None),
    ] {
        let (status, problem) =
            app.call(method.clone(), &me, Some(&root.token), body.as_ref()).await;
        assert_eq!(status, 409, "{method} {body:?}");
        assert!(problem["type"].as_str().unwrap().ends_with("last-admin"));
    }

    // Two admins demoting each other at the same moment: exactly one of them succeeds.
    let other = app.admin("other").await;
    let theirs = format!("/api/v1/admin/users/{}/", other.id);
    let demote = json!({"is_superuser": false});
    let (a, b) = tokio::join!(
        app.send(Method::PATCH, &theirs, &root.token, &demote),
        app.send(Method::PATCH, &me, &other.token, &demote),
    );
    // The loser gets 409 (still an admin when checked, but the last one) or 403 (already
    // demoted by the winner when its request was authorised): both leave one admin.
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert!(statuses == [200, 409] || statuses == [200, 403], "{a:?} {b:?}");
    assert_eq!(app.env.count_matching("users", "is_superuser AND is_active").await, 1);
}

#[tokio::test]
async fn read_change_and_delete_a_user() {
    let app = TestApp::spawn().await;
    let root = app.admin("root").await;
    let user = app.user("target").await;
    app.user("taken").await;
    let path = format!("/api/v1/admin/users/{}/", user.id);
    let (status, fetched) = app.read(&path, &root.token).await;
    assert_eq!(status, 200);
    assert_eq!(fetched["username"], "target");

    let (status, problem) =
        app.send(Method::PATCH, &path, &root.token, &json!({"email": "taken@example.com"})).await;
    assert_eq!(status, 409, "{problem}");
    let (status, problem) = app
        .send(
            Method::PATCH,
            &path,
            &root.token,
            &json!({"email": "not an email", "daily_task_limit": -1}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        problem["errors"]["email"].is_array() && problem["errors"]["daily_task_limit"].is_array(),
        "{problem}"
    );
    let (status, changed) = app
        .send(
            Method::PATCH,
            &path,
            &root.token,
            &json!({"email": "New@Example.com", "first_name": "Tar", "is_superuser": true}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(changed["email"], "new@example.com");
    assert_eq!(changed["first_name"], "Tar");
    assert_eq!(changed["is_superuser"], true);

    let (status, _) = app.act(Method::DELETE, &path, &root.token).await;
    assert_eq!(status, 204);
    let (status, _) = app.read(&path, &root.token).await;
    assert_eq!(status, 404);
    let (status, _) = app.profile(&user.token).await;
    assert_eq!(status, 401);
    let (status, _) = app.read("/api/v1/admin/users/not-a-uuid/", &root.token).await;
    assert_eq!(status, 400);
}
