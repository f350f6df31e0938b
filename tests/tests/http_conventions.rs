use dispatch_tests::Calls;
use dispatch_tests::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string() && body["title"].is_string(), "{body}");
    body
}

#[tokio::test]
async fn bad_input_of_every_kind_gets_its_problem() {
    let app = TestApp::spawn_without_worker().await;
    let login = app.url("/api/v1/auth/login/");

    let r = app
        .client
        .post(&login)
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    let body = problem(r, 400).await;
    assert!(body["type"].as_str().unwrap().ends_with("malformed-json"));

    let r = app
        .client
        .post(&login)
        .header("content-type", "application/json")
        .body("")
        .send()
        .await
        .unwrap();
    problem(r, 400).await;

    let r = app.post("/api/v1/auth/login/", &json!({"username": ["x"], "password": true})).await;
    let body = problem(r, 400).await;
    assert!(
        body["errors"]["username"].is_array() && body["errors"]["password"].is_array(),
        "{body}"
    );

    let r = app.post("/api/v1/auth/login/", &json!([1, 2])).await;
    let body = problem(r, 400).await;
    assert!(body["errors"].is_object());

    let r = app
        .client
        .post(&login)
        .header("content-type", "text/plain")
        .body("username=x")
        .send()
        .await
        .unwrap();
    problem(r, 415).await;
    let r = app.client.post(&login).body("{}").send().await.unwrap();
    problem(r, 415).await;

    let huge =
        format!("{{\"username\": \"{}\", \"password\": \"x\"}}", "a".repeat(1024 * 1024 + 10));
    let r = app
        .client
        .post(&login)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(r, 413).await;

    let r = app.client.put(&login).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "POST", "405 names the allowed methods");
    problem(r, 405).await;
    let r = app
        .client
        .post(app.url("/api/v1/tasks/0b6e3b1e-0000-4000-8000-000000000000/"))
        .send()
        .await
        .unwrap();
    let allow = r.headers()["allow"].to_str().unwrap().to_owned();
    for method in ["GET", "HEAD", "PUT", "PATCH", "DELETE"] {
        assert!(allow.contains(method), "{allow}");
    }
    problem(r, 405).await;

    let r = app.client.get(app.url("/api/v1/nothing-here/")).send().await.unwrap();
    problem(r, 404).await;

    let r =
        app.client.get(app.url("/api/v1/jobs/?page=abc")).bearer_auth("x").send().await.unwrap();
    problem(r, 401).await;
}

#[tokio::test]
async fn tokens_are_checked_and_failures_are_401_problems() {
    let app = TestApp::spawn().await;
    let registered = app.register("tok_user", "token-pass-1").await;
    let profile = "/api/v1/auth/profile/";

    let r = app.client.get(app.url(profile)).send().await.unwrap();
    problem(r, 401).await;
    let r = app.get_auth(profile, "not-a-jwt").await;
    problem(r, 401).await;
    // Signed with another secret.
    let other = dispatch_shared::auth::TokenService::new(
        &dispatch_tests::TestEnv::new().settings().jwt_secret,
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(60),
    );
    let user_id = uuid::Uuid::parse_str(registered["id"].as_str().unwrap()).unwrap();
    let forged = other.issue_access(user_id, 0).unwrap().token;
    problem(app.get_auth(profile, &forged).await, 401).await;
    // A refresh token is not an access token.
    let refresh = registered["tokens"]["refresh"].as_str().unwrap();
    problem(app.get_auth(profile, refresh).await, 401).await;
    // Expired: issued with our secret but a lifetime already over.
    let settings = app.settings();
    let expired_issuer = dispatch_shared::auth::TokenService::new(
        &settings.jwt_secret,
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(1),
    );
    let expired = expired_issuer.issue_access(user_id, 0).unwrap().token;
    dispatch_tests::wait_until(std::time::Duration::from_secs(5), "the token to expire", || {
        let app = &app;
        let expired = expired.clone();
        async move { (app.get_auth(profile, &expired).await.status() == 401).then_some(()) }
    })
    .await;
    let body = problem(app.get_auth(profile, &expired).await, 401).await;
    assert!(body["detail"].as_str().unwrap().contains("expired"), "{body}");
    // The good one works, with and without the trailing slash, and via the cookie.
    let access = registered["tokens"]["access"].as_str().unwrap();
    assert_eq!(app.get_auth(profile, access).await.status(), 200);
    assert_eq!(app.get_auth("/api/v1/auth/profile", access).await.status(), 200);
    let r = app
        .client
        .get(app.url(profile))
        .header("cookie", format!("access_token={access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_identical_401s() {
    let app = TestApp::spawn().await;
    app.register("known_user", "right-password-1").await;
    let wrong = app
        .post(
            "/api/v1/auth/login/",
            &json!({"username": "known_user", "password": "wrong-password"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/v1/auth/login/",
            &json!({"username": "nobody_here", "password": "wrong-password"}),
        )
        .await;
    let a = problem(wrong, 401).await;
    let b = problem(unknown, 401).await;
    assert_eq!(a, b);
}

#[tokio::test]
async fn login_sets_an_http_only_cookie() {
    let app = TestApp::spawn().await;
    app.register("cookie_user", "cookie-pass-1").await;
    let r = app
        .post(
            "/api/v1/auth/login/",
            &json!({"username": "cookie_user", "password": "cookie-pass-1"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("access_token="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = app.client.get(app.url("/api/v1/auth/profile/")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn_without_worker().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["mysql"], "ok");
    assert_eq!(body["redis"], "ok");
    let r = app.client.get(app.url("/api-docs")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("swagger"));
    // Requests are counted by the route they matched, never by their path: a made-up path
    // is one `unmatched` label, and a made-up id in a real route is that route's label.
    let probe = format!("/probe-{}", app.env.id);
    let r = app.client.get(app.url(&probe)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let made_up_id = format!("made-up-{}", app.env.id);
    let r = app.client.get(app.url(&format!("/api/v1/tasks/{made_up_id}/"))).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let metrics = r.text().await.unwrap();
    assert!(metrics.contains(r#"route="unmatched",status="404""#), "{metrics}");
    assert!(metrics.contains(r#"route="/api/v1/tasks/:param0",status="401""#), "{metrics}");
    assert!(metrics.contains(r#"route="/readyz",status="200""#), "{metrics}");
    assert!(!metrics.contains(&probe), "{metrics}");
    assert!(!metrics.contains(&made_up_id), "{metrics}");
}

#[tokio::test]
async fn readiness_is_503_with_retry_after_while_mysql_is_unreachable() {
    // An API pointed at a port where no MySQL listens stays up and says so.
    let mut env = dispatch_tests::TestEnv::new();
    let settings_ok = env.settings();
    dispatch_shared::db::migrate(&settings_ok.database_url).await.unwrap();
    let port = dispatch_tests::process::free_port();
    env.set("DATABASE_URL", &format!("mysql://root@127.0.0.1:{port}/nothing"));
    env.set("DISPATCH_AUTO_MIGRATE", "false");
    let settings = env.settings();
    let acceptor = {
        use poem::listener::{Acceptor, Listener, TcpListener};
        let a = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let addr = a.local_addr()[0].as_socket_addr().copied().unwrap();
        (a, addr)
    };
    let (acceptor, addr) = acceptor;
    let server = tokio::spawn(dispatch_api::serve_on(
        settings,
        acceptor,
        tokio::runtime::Handle::current(),
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/readyz");
    let response =
        dispatch_tests::wait_until(std::time::Duration::from_secs(10), "the API to answer", || {
            let client = client.clone();
            let url = url.clone();
            async move { client.get(&url).send().await.ok() }
        })
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["mysql"], "unavailable");
    assert_eq!(body["redis"], "ok");
    // A request needing the database is a 503 problem, not a 500.
    let r = client
        .post(format!("http://{addr}/api/v1/auth/login/"))
        .json(&json!({"username": "x_user", "password": "whatever-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    server.abort();
}

#[tokio::test]
async fn committed_openapi_spec_matches_the_code() {
    let committed = include_str!("../../openapi/openapi.json");
    let generated = dispatch_api::app::spec_json();
    let committed: Value = serde_json::from_str(committed).expect("openapi/openapi.json is JSON");
    let generated: Value = serde_json::from_str(&generated).unwrap();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -p dispatch-api -- openapi > openapi/openapi.json`"
    );
    // Every operation is described; every schema it uses carries an example (an enum's
    // values are its examples).
    for (name, schema) in generated["components"]["schemas"].as_object().unwrap() {
        if !name.starts_with("Page") && schema.get("enum").is_none() {
            assert!(schema.get("example").is_some(), "schema {name} has no example");
        }
    }
    for (path, item) in generated["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["summary"].is_string(), "{method} {path} has no summary");
            assert!(op["description"].is_string(), "{method} {path} has no description");
        }
    }
}

#[tokio::test]
async fn concurrent_migrations_from_several_instances_do_not_collide() {
    let env = dispatch_tests::TestEnv::new();
    let url = env.database_url.clone();
    let runs = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { dispatch_shared::db::migrate(&url).await })
    });
    let results = futures::future::join_all(runs).await;
    let mut applied_total = 0;
    for result in results {
        applied_total += result.unwrap().expect("every instance starts").len();
    }
    let embedded = diesel::migration::MigrationSource::<diesel::mysql::Mysql>::migrations(
        &dispatch_shared::db::MIGRATIONS,
    )
    .unwrap()
    .len();
    assert_eq!(applied_total, embedded, "each migration applied exactly once");
    assert_eq!(env.count_rows("users").await, 0);
}

/// A malformed id in a path is a 400 that names `id` and the rule, never the framework's
/// internals (`param0`, `string_uuid`).
#[tokio::test]
async fn malformed_ids_in_paths_name_the_parameter_and_the_rule() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    for (method, path, body) in [
        (Method::GET, "/api/v1/tasks/nope/", None),
        (Method::PATCH, "/api/v1/tasks/12345/", Some(json!({"title": "x"}))),
        (Method::GET, "/api/v1/products/nope/", None),
        (Method::GET, "/api/v1/orders/nope/", None),
        (Method::PATCH, "/api/v1/cart/items/nope/", Some(json!({"quantity": 1}))),
        (Method::GET, "/api/v1/admin/users/nope/", None),
    ] {
        let (status, problem) =
            app.call(method.clone(), path, Some(&admin.token), body.as_ref()).await;
        assert_eq!(status, 400, "{method} {path}: {problem}");
        assert!(problem["errors"]["id"].is_array(), "{method} {path}: {problem}");
        let text = problem.to_string();
        assert!(!text.contains("param0") && !text.contains("string_uuid"), "{text}");
    }
}

/// A write answered before its body was read (a non-admin's 403) says `Connection: close`,
/// since the server will not read the rest; a write whose body was read keeps the
/// connection, and so do requests without a body.
#[tokio::test]
async fn an_answer_that_leaves_the_body_unread_closes_the_connection() {
    let app = TestApp::spawn().await;
    let admin = app.admin("root").await;
    let user = app.user("plain").await;
    let path = app.url(&format!("/api/v1/admin/users/{}/", user.id));
    let patch = |token: &str| {
        app.client
            .patch(&path)
            .bearer_auth(token)
            .json(&json!({"first_name": "x".repeat(4096)}))
            .send()
    };
    let refused = patch(&user.token).await.expect("patch");
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.headers().get("connection").map(|v| v.to_str().unwrap()), Some("close"));

    let refused_again = patch(&user.token).await.expect("a new connection for the next request");
    assert_eq!(refused_again.status(), 403);

    let accepted = patch(&admin.token).await.expect("patch");
    assert_eq!(accepted.status(), 400, "a first name over 150 characters");
    assert!(accepted.headers().get("connection").is_none());
    let read = app.client.get(&path).bearer_auth(&admin.token).send().await.expect("get");
    assert_eq!(read.status(), 200);
    assert!(read.headers().get("connection").is_none());
}
