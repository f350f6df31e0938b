//! The admin users API (DESIGN §4, reference 000's dashboard): admins only, searchable and
//! sortable, deactivation taking effect at once, and never without an active admin.

use std::time::Duration;

use dispatch_tests::ws::{close_code, connect};
use dispatch_tests::{TestApp, TestUser};
use reqwest::Method;
use serde_json::{json, Value};

/// A registered user made admin in the database (the bootstrap admin is tested elsewhere).
async fn admin(app: &TestApp, name: &str) -> TestUser {
    let user = app.user(name).await;
    app.env
        .execute(&format!(
            "UPDATE users SET is_superuser = TRUE WHERE id = '{}'",
            user.id
        ))
        .await;
    user
}

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
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"is_superuser": true})),
        ),
        (Method::DELETE, path.clone(), None),
    ] {
        let (status, problem) = app
            .call(method.clone(), &path, Some(&user.token), body.as_ref())
            .await;
        assert_eq!(status, 403, "{method} {path}: {problem}");
        let (status, _) = app.call(method.clone(), &path, None, body.as_ref()).await;
        assert_eq!(status, 401, "{method} {path} without a token");
    }
    let (_, me) = app
        .call(
            Method::GET,
            "/api/v1/auth/profile/",
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(me["is_superuser"], false, "nothing changed");
}

#[tokio::test]
async fn lists_search_sort_and_page() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root").await;
    for name in ["carol", "alice", "bob"] {
        app.user(name).await;
    }
    let (status, _) = app
        .call(
            Method::PATCH,
            "/api/v1/auth/profile/",
            Some(&app.user("dave").await.token),
            Some(&json!({"first_name": "Ada", "last_name": "LOVELACE"})),
        )
        .await;
    assert_eq!(status, 200);
    let list = |query: &str| {
        let path = format!("/api/v1/admin/users/{query}");
        let (app, token) = (&app, root.token.clone());
        async move { app.call(Method::GET, &path, Some(&token), None).await }
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
    for ordering in [
        "email",
        "first_name",
        "last_name",
        "last_login",
        "is_active",
        "-is_active,username",
    ] {
        let (status, page) = list(&format!("?ordering={ordering}")).await;
        assert_eq!(
            (status, page["count"].clone()),
            (200, json!(5)),
            "{ordering}"
        );
    }
    let (status, problem) = list("?ordering=password_hash").await;
    assert_eq!(status, 400);
    assert!(problem["errors"]["ordering"].is_array());
    assert!(
        !all.to_string().contains("password"),
        "no hash leaves the API"
    );
}

#[tokio::test]
async fn deactivation_takes_effect_at_once_and_reactivation_restores_login() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root").await;
    let user = app.user("worker").await;
    let path = format!("/api/v1/admin/users/{}/", user.id);
    let mut socket = connect(
        &app.ws_url("/ws/tasks/"),
        &[("authorization", &format!("Bearer {}", user.token))],
    )
    .await;
    // The user is now known (and cached) by the instance.
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/auth/profile/",
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(status, 200);

    let (status, changed) = app
        .call(
            Method::PATCH,
            &path,
            Some(&root.token),
            Some(&json!({"is_active": false, "daily_task_limit": 2})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["is_active"], false);
    assert_eq!(changed["daily_task_limit"], 2);
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/auth/profile/",
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(status, 401, "the token stops working at once");
    assert_eq!(
        close_code(&mut socket, Duration::from_secs(5)).await,
        Some(4401)
    );
    let login =
        json!({"username": user.username, "password": format!("{}-password-1", user.username)});
    let (status, _) = app
        .call(Method::POST, "/api/v1/auth/login/", None, Some(&login))
        .await;
    assert_eq!(status, 403);

    let (status, _) = app
        .call(
            Method::PATCH,
            &path,
            Some(&root.token),
            Some(&json!({"is_active": true})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .call(Method::POST, "/api/v1/auth/login/", None, Some(&login))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["daily_task_limit"], 2);
}

#[tokio::test]
async fn the_last_active_admin_stays() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root").await;
    let me = format!("/api/v1/admin/users/{}/", root.id);
    for (method, body) in [
        (Method::PATCH, Some(json!({"is_active": false}))),
        (Method::PATCH, Some(json!({"is_superuser": false}))),
        (Method::DELETE, None),
    ] {
        let (status, problem) = app
            .call(method.clone(), &me, Some(&root.token), body.as_ref())
            .await;
        assert_eq!(status, 409, "{method} {body:?}");
        assert!(problem["type"].as_str().unwrap().ends_with("last-admin"));
    }

    // Two admins demoting each other at the same moment: exactly one of them succeeds.
    let other = admin(&app, "other").await;
    let theirs = format!("/api/v1/admin/users/{}/", other.id);
    let demote = json!({"is_superuser": false});
    let (a, b) = tokio::join!(
        app.call(Method::PATCH, &theirs, Some(&root.token), Some(&demote)),
        app.call(Method::PATCH, &me, Some(&other.token), Some(&demote)),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    assert_eq!(
        app.env
            .count_rows("users WHERE is_superuser AND is_active")
            .await,
        1
    );
}

#[tokio::test]
async fn read_change_and_delete_a_user() {
    let app = TestApp::spawn().await;
    let root = admin(&app, "root").await;
    let user = app.user("target").await;
    app.user("taken").await;
    let path = format!("/api/v1/admin/users/{}/", user.id);
    let (status, fetched) = app.call(Method::GET, &path, Some(&root.token), None).await;
    assert_eq!(status, 200);
    assert_eq!(fetched["username"], "target");

    let (status, problem) = app
        .call(
            Method::PATCH,
            &path,
            Some(&root.token),
            Some(&json!({"email": "taken@example.com"})),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    let (status, problem) = app
        .call(
            Method::PATCH,
            &path,
            Some(&root.token),
            Some(&json!({"email": "not an email", "daily_task_limit": -1})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        problem["errors"]["email"].is_array() && problem["errors"]["daily_task_limit"].is_array(),
        "{problem}"
    );
    let (status, changed) = app
        .call(
            Method::PATCH,
            &path,
            Some(&root.token),
            Some(&json!({"email": "New@Example.com", "first_name": "Tar", "is_superuser": true})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(changed["email"], "new@example.com");
    assert_eq!(changed["first_name"], "Tar");
    assert_eq!(changed["is_superuser"], true);

    let (status, _) = app
        .call(Method::DELETE, &path, Some(&root.token), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app.call(Method::GET, &path, Some(&root.token), None).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/auth/profile/",
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/admin/users/not-a-uuid/",
            Some(&root.token),
            None,
        )
        .await;
    assert_eq!(status, 400);
}
