use std::collections::HashSet;

use std::time::Duration;

use diesel_async::SimpleAsyncConnection;
use dispatch_tests::{wait_until, TestApp};
use futures::future::join_all;
use serde_json::{json, Value};

#[tokio::test]
async fn register_without_waiting_returns_a_job_that_creates_the_user() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/v1/auth/register/",
            &json!({"username": "Ada_L", "email": "Ada@Example.com", "password": "analytical-1",
                    "first_name": "Ada", "last_name": "Lovelace"}),
        )
        .await;
    assert_eq!(response.status(), 202);
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("Location header");
    let accepted: Value = response.json().await.unwrap();
    let job_id = accepted["job_id"].as_str().unwrap();
    assert_eq!(accepted["status"], "queued");
    assert_eq!(accepted["status_url"], format!("/api/v1/jobs/{job_id}/"));
    assert_eq!(accepted["ws_url"], format!("/ws/jobs/{job_id}/"));
    assert_eq!(location, format!("/api/v1/jobs/{job_id}/"));

    let job = app.await_job(job_id, None).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "register_user");
    assert_eq!(job["attempts"], 1);
    assert!(job["finished_at"].is_string());
    let user = &job["result"];
    assert_eq!(user["username"], "ada_l");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["first_name"], "Ada");
    assert_eq!(user["is_active"], true);
    assert_eq!(user["is_superuser"], false);
    assert_eq!(user["daily_task_limit"], 5);
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());

    let token = app.login("ADA_L", "analytical-1").await;
    let profile: Value = app.get_auth("/api/v1/auth/profile/", &token).await.json().await.unwrap();
    assert!(profile["last_login"].is_string());
    // The job's result is the stored user (the worker builds it from its insert, not a
    // read-back): every field but the login the request above just recorded.
    let mut stored = profile.clone();
    stored["last_login"] = Value::Null;
    assert_eq!(utc_as_z(user.clone()), utc_as_z(stored), "job result against the stored user");
    // Login by email works too.
    app.login("ada@example.com", "analytical-1").await;
}

#[tokio::test]
async fn prefer_wait_answers_201_with_user_and_tokens() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/register/"))
        .header("Prefer", "wait=10")
        .json(&json!({"username": "grace", "email": "grace@example.com", "password": "cobol-1959"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let response_preference_applied =
        response.headers()["preference-applied"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "grace");
    assert!(body["last_login"].is_string(), "the registration logged the user in: {body}");
    assert_eq!(response_preference_applied, "wait=10");
    let access = body["tokens"]["access"].as_str().unwrap();
    let profile = app.get_auth("/api/v1/auth/profile/", access).await;
    assert_eq!(profile.status(), 200);
    // The login was stored with the user, at the time the answer gives.
    let profile: Value = profile.json().await.unwrap();
    let at = |user: &Value| utc_as_z(json!({"at": user["last_login"]}));
    assert_eq!(at(&profile), at(&body));
    // The refresh token's session was stored with the user too: it rotates, once.
    let refresh = body["tokens"]["refresh"].as_str().unwrap();
    let rotated = app.post("/api/v1/auth/token/refresh/", &json!({"refresh": refresh})).await;
    assert_eq!(rotated.status(), 200);
    let replayed = app.post("/api/v1/auth/token/refresh/", &json!({"refresh": refresh})).await;
    assert_eq!(replayed.status(), 401);
}

#[tokio::test]
async fn prefer_wait_without_a_worker_falls_back_to_202() {
    let app = TestApp::spawn_without_worker().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/register/"))
        .header("Prefer", "wait=1")
        .json(
            &json!({"username": "linus", "email": "linus@example.com", "password": "kernel-1991"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "queued");
}

#[tokio::test]
async fn invalid_registrations_get_field_errors_and_create_nothing() {
    let app = TestApp::spawn().await;
    // Each case changes a valid registration (a null removes the field) and names the field
    // the error must be about.
    let valid =
        json!({"username": "okname", "email": "x@example.com", "password": "long-enough-1"});
    let cases = [
        ("username", json!({"username": "ab"})),
        ("username", json!({"username": "bad name"})),
        ("email", json!({"email": "not-an-email"})),
        ("password", json!({"password": "short1"})),
        ("password", json!({"password": "1234567890"})),
        ("password", json!({"username": "okname123", "password": "OKNAME123"})),
        ("password", json!({"password": "OkName"})),
        ("password", json!({"password": null})),
        ("username", json!({"username": 42})),
        ("first_name", json!({"first_name": "x".repeat(151)})),
    ];
    let cases = cases.into_iter().map(|(field, change)| {
        let mut body = valid.clone();
        if let (Some(body), Some(change)) = (body.as_object_mut(), change.as_object()) {
            for (key, value) in change {
                match value {
                    Value::Null => body.remove(key),
                    value => body.insert(key.clone(), value.clone()),
                };
            }
        }
        (body, field)
    });
    for (body, field) in cases {
        let response = app.post("/api/v1/auth/register/", &body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{body}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], 400);
        assert!(problem["errors"][field].is_array(), "{body} -> {problem}");
    }
    assert_eq!(app.env.count_rows("jobs").await, 0, "invalid input must not enqueue anything");
    assert_eq!(app.env.count_rows("users").await, 0);
}

#[tokio::test]
async fn taken_username_or_email_is_refused_at_once_with_409() {
    let app = TestApp::spawn().await;
    app.register("taken_name", "password-123").await;
    let jobs_before = app.env.count_rows("jobs").await;
    let cases = [
        (("Taken_Name", "other@example.com"), "username"),
        (("someone_else", "TAKEN_NAME@example.com"), "email"),
    ];
    for ((username, email), field) in cases {
        let response = app
            .post(
                "/api/v1/auth/register/",
                &json!({"username": username, "email": email, "password": "password-123"}),
            )
            .await;
        assert_eq!(response.status(), 409, "{username}, {email}");
        let problem: Value = response.json().await.unwrap();
        assert!(problem["type"].as_str().unwrap().ends_with(&format!("{field}-taken")));
        assert!(problem["errors"][field].is_array(), "{problem}");
    }
    assert_eq!(
        app.env.count_rows("jobs").await,
        jobs_before,
        "a refused registration stores no job"
    );
}

/// The check that no account holds the name is part of the job's insert, and reads
/// committed rows without locking them. Under `REPEATABLE READ` it would lock the gap in the
/// users' index where the name would go until the insert commits, and hold up a worker
/// inserting another user into that gap meanwhile.
#[tokio::test]
async fn the_check_inside_a_registration_insert_locks_no_user_rows() {
    let app = TestApp::spawn_without_worker().await;
    // Every job insert waits while this transaction holds the whole job table.
    let mut jobs_held = app.env.connection().await;
    jobs_held.batch_execute("BEGIN; SELECT COUNT(*) FROM jobs FOR UPDATE").await.unwrap();
    let registration = tokio::spawn({
        let request = app.client.post(app.url("/api/v1/auth/register/")).json(
            &json!({"username": "gap_a", "email": "gap_a@example.com", "password": "gap-pass-1"}),
        );
        async move { request.send().await.map(|r| r.status().as_u16()) }
    });
    wait_until(Duration::from_secs(10), "the registration's insert to wait", || async {
        (app.env.statements_running("INSERT INTO jobs").await == 1).then_some(())
    })
    .await;
    // Its check has run: another account goes into the same gaps of both indexes.
    let mut inserter = app.env.connection().await;
    let beside = inserter
        .batch_execute(
            "SET SESSION innodb_lock_wait_timeout = 5; \
             INSERT INTO users (id, username, email, password_hash, date_joined, last_updated) \
             VALUES (UUID(), 'gap_b', 'gap_b@example.com', 'not-a-hash', NOW(6), NOW(6))",
        )
        .await;
    jobs_held.batch_execute("ROLLBACK").await.unwrap();
    assert!(beside.is_ok(), "the insert beside the name waited for its lock: {beside:?}");
    assert_eq!(registration.await.unwrap().unwrap(), 202);
}

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_username_create_exactly_one_user() {
    let app = TestApp::spawn().await;
    let requests = (0..20).map(|i| {
        let app = &app;
        async move {
            let response = app
                .post(
                    "/api/v1/auth/register/",
                    &json!({"username": "racer", "email": format!("racer{i}@example.com"),
                            "password": "fast-and-furious"}),
                )
                .await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }
    });
    let responses = join_all(requests).await;
    let mut job_ids = Vec::new();
    for (status, body) in &responses {
        match status {
            202 => job_ids.push(body["job_id"].as_str().unwrap().to_owned()),
            409 => assert!(body["type"].as_str().unwrap().ends_with("username-taken")),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let mut succeeded = 0;
    let mut user_ids = HashSet::new();
    for id in &job_ids {
        let job = app.await_job(id, None).await;
        match job["status"].as_str() {
            Some("succeeded") => {
                succeeded += 1;
                user_ids.insert(job["result"]["id"].as_str().unwrap().to_owned());
            }
            Some("failed") => {
                let error = job["error"].as_str().unwrap();
                assert!(error.contains("racer") && error.contains("already exists"), "{error}");
            }
            _ => unreachable!(),
        }
    }
    assert_eq!(succeeded, 1, "exactly one registration wins");
    assert_eq!(user_ids.len(), 1);
    assert_eq!(app.env.count_rows("users").await, 1);
    app.login("racer", "fast-and-furious").await;
}

#[tokio::test]
async fn a_name_taken_while_waiting_answers_409_with_prefer_wait() {
    let app = TestApp::spawn().await;
    let attempt = |email: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/register/"))
            .header("Prefer", "wait=10")
            .json(&json!({"username": "contested", "email": email, "password": "contested-pass"}))
            .send()
    };
    let (a, b) = tokio::join!(attempt("first@example.com"), attempt("second@example.com"));
    let mut statuses = vec![a.unwrap(), b.unwrap()];
    statuses.sort_by_key(|r| r.status());
    let loser = statuses.pop().unwrap();
    let winner = statuses.pop().unwrap();
    assert_eq!(winner.status(), 201);
    assert_eq!(loser.status(), 409);
    assert_eq!(loser.headers()["content-type"], "application/problem+json");
    let problem: Value = loser.json().await.unwrap();
    assert!(problem["type"].as_str().unwrap().ends_with("username-taken"), "{problem}");
    assert!(problem["errors"]["username"].is_array());
}

/// Both spellings of UTC are RFC 3339; the job result and the API write them differently.
fn utc_as_z(mut user: Value) -> Value {
    if let Some(fields) = user.as_object_mut() {
        for value in fields.values_mut() {
            if let Some(at) = value.as_str().and_then(|s| s.strip_suffix("+00:00")) {
                *value = Value::String(format!("{at}Z"));
            }
        }
    }
    user
}
