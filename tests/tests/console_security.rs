//! What the web console relies on, over plain HTTP: its pages and their security headers,
//! the cookie session (refresh included) and the cross-site write check.

use dispatch_tests::http::client_without_redirects;
use dispatch_tests::Calls;
use dispatch_tests::{ws, TestApp};
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{json, Value};

fn cookie(token: &str) -> String {
    format!("access_token={token}")
}

#[tokio::test]
async fn pages_are_served_with_a_strict_policy_and_no_inline_code() {
    let app = TestApp::spawn_without_worker().await;
    let client = client_without_redirects();
    for page in ["login", "register", "account", "admin"] {
        let response = client.get(app.url(&format!("/{page}/"))).send().await.expect("page");
        assert_eq!(response.status(), 200, "{page}");
        let policy =
            response.headers()[CONTENT_SECURITY_POLICY].to_str().expect("policy").to_owned();
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert!(response.headers()[CONTENT_TYPE].to_str().expect("type").starts_with("text/html"));
        let html = response.text().await.expect("html");
        // Every script is a module from our origin; no inline code or handlers the policy
        // would (rightly) block.
        for fragment in html.split("<script").skip(1) {
            assert!(fragment.contains("src=\"/assets/"), "{page}: inline script");
        }
        assert!(!html.contains(" onclick="), "{page}: inline handler");
        assert!(!html.contains(" style=\""), "{page}: inline style");

        let bare = client.get(app.url(&format!("/{page}"))).send().await.expect("page");
        assert_eq!(bare.status(), 308);
        assert_eq!(bare.headers()[LOCATION], format!("/{page}/"));
    }
    let script = client.get(app.url("/assets/api.js")).send().await.expect("asset");
    assert_eq!(script.status(), 200);
    assert!(script.headers()[CONTENT_TYPE].to_str().expect("type").contains("javascript"));
    let etag = script.headers()["etag"].clone();
    let again = client
        .get(app.url("/assets/api.js"))
        .header("If-None-Match", etag)
        .send()
        .await
        .expect("asset");
    assert_eq!(again.status(), 304);
    let missing = client.get(app.url("/assets/nothing.js")).send().await.expect("asset");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn the_root_sends_each_browser_to_its_page() {
    let app = TestApp::spawn().await;
    let client = client_without_redirects();
    let user = app.user("root_user").await;
    let admin = app.admin("root_admin").await;
    for (cookie_value, expected) in [
        (None, "/login/"),
        (Some(cookie("not-a-token")), "/login/"),
        (Some(cookie(&user.token)), "/account/"),
        (Some(cookie(&admin.token)), "/admin/"),
    ] {
        let mut request = client.get(app.url("/"));
        if let Some(value) = cookie_value {
            request = request.header(COOKIE, value);
        }
        let response = request.send().await.expect("root");
        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()[LOCATION], expected);
        // The redirect is a console response like any other.
        assert!(response.headers().contains_key("content-security-policy"));
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
}

/// API answers of every kind (JSON, problem details, a replayed outcome, health) say
/// `nosniff`: none may be sniffed into HTML.
#[tokio::test]
async fn api_responses_are_never_sniffed() {
    let app = TestApp::spawn().await;
    let user = app.user("sniffer").await;
    let cases = [
        (reqwest::Method::GET, "/api/v1/auth/profile/", Some(user.token.as_str())),
        (reqwest::Method::GET, "/api/v1/tasks/not-an-id/", Some(user.token.as_str())),
        (reqwest::Method::GET, "/api/v1/auth/profile/", None),
        (reqwest::Method::GET, "/api/v1/nowhere/", None),
        (reqwest::Method::GET, "/readyz", None),
        (reqwest::Method::GET, "/metrics", None),
    ];
    for (method, path, token) in cases {
        let mut request = app.client.request(method.clone(), app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        assert_eq!(
            response.headers().get("x-content-type-options").map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{method} {path} ({})",
            response.status()
        );
    }
}

#[tokio::test]
async fn cookie_writes_need_json_or_a_custom_header() {
    let app = TestApp::spawn().await;
    let user = app.user("csrf_user").await;
    let client = reqwest::Client::new();
    let url = app.url("/api/v1/tasks/");

    // What a cross-site HTML form can send: refused, and nothing is created.
    for content_type in
        ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"]
    {
        let response = client
            .post(&url)
            .header(COOKIE, cookie(&user.token))
            .header(CONTENT_TYPE, content_type)
            .body(r#"{"title": "forged"}"#)
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 403, "{content_type}");
        let problem: Value = response.json().await.expect("problem");
        assert!(
            problem["detail"].as_str().unwrap_or_default().contains("X-Requested-With"),
            "{problem}"
        );
    }
    let deleted = client
        .delete(app.url("/api/v1/auth/profile/"))
        .header(COOKIE, cookie(&user.token))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 403, "a bodiless cookie write without the header");
    let (_, list) = app.read("/api/v1/tasks/", &user.token).await;
    assert_eq!(list["count"], 0);

    // JSON (which a form cannot send cross-site), or the custom header: accepted.
    let json_post = client
        .post(&url)
        .header(COOKIE, cookie(&user.token))
        .json(&json!({"title": "by cookie"}))
        .send()
        .await
        .expect("post");
    assert_eq!(json_post.status(), 201);
    let task: Value = json_post.json().await.expect("task");
    let with_header = client
        .delete(app.url(&format!("/api/v1/tasks/{}/", task["id"].as_str().expect("id"))))
        .header(COOKIE, cookie(&user.token))
        .header("X-Requested-With", "dispatch-console")
        .send()
        .await
        .expect("delete");
    assert_eq!(with_header.status(), 200);

    // Reads by cookie, and bearer-token writes of any content type, are unaffected.
    let read = client
        .get(app.url("/api/v1/auth/profile/"))
        .header(COOKIE, cookie(&user.token))
        .send()
        .await
        .expect("get");
    assert_eq!(read.status(), 200);
}

#[tokio::test]
async fn refreshing_renews_the_cookie_and_cross_site_sockets_get_no_cookie_session() {
    let app = TestApp::spawn().await;
    app.user("cookie_user").await;
    let (status, login) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/auth/login/",
            None,
            Some(&json!({"username": "cookie_user", "password": "cookie_user-password-1"})),
        )
        .await;
    assert_eq!(status, 200);
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/auth/token/refresh/"))
        .json(&json!({"refresh": login["tokens"]["refresh"]}))
        .send()
        .await
        .expect("refresh");
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()[SET_COOKIE].to_str().expect("cookie").to_owned();
    let tokens: Value = response.json().await.expect("tokens");
    let access = tokens["access"].as_str().expect("access");
    assert!(set_cookie.starts_with(&format!("access_token={access};")));
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));

    // A page from this origin may use the cookie for the task stream; another site's may not.
    let url = app.ws_url("/ws/tasks/");
    let host = url.trim_start_matches("ws://").split('/').next().expect("host").to_owned();
    let mut same =
        ws::connect(&url, &[("cookie", &cookie(access)), ("origin", &format!("http://{host}"))])
            .await;
    let mut foreign =
        ws::connect(&url, &[("cookie", &cookie(access)), ("origin", "http://evil.example")]).await;
    assert_eq!(ws::close_code(&mut foreign, std::time::Duration::from_secs(5)).await, Some(4401));
    app.send(
        reqwest::Method::POST,
        "/api/v1/tasks/",
        access,
        &json!({"title": "seen by the same-origin socket"}),
    )
    .await;
    let event = ws::next_json(&mut same, std::time::Duration::from_secs(5)).await;
    assert_eq!(event["action"], "task_create");
}

async fn login_cookie(app: &TestApp, username: &str, forwarded_proto: Option<&str>) -> String {
    let mut request = app
        .client
        .post(app.url("/api/v1/auth/login/"))
        .json(&json!({"username": username, "password": format!("{username}-password-1")}));
    if let Some(proto) = forwarded_proto {
        request = request.header("x-forwarded-proto", proto);
    }
    let response = request.send().await.expect("login");
    assert_eq!(response.status(), 200);
    response.headers()[SET_COOKIE].to_str().expect("cookie").to_owned()
}

/// The session cookie is `Secure` in production mode, and when a trusted proxy says the
/// request came over HTTPS; a forged `X-Forwarded-Proto` from an untrusted peer changes
/// nothing, and plain development HTTP keeps working without it.
#[tokio::test]
async fn the_cookie_is_secure_over_https_and_in_production() {
    let plain = TestApp::spawn().await;
    plain.user("plain").await;
    assert!(!login_cookie(&plain, "plain", None).await.contains("Secure"));
    assert!(!login_cookie(&plain, "plain", Some("https")).await.contains("Secure"));

    let mut behind_proxy = dispatch_tests::TestEnv::new();
    behind_proxy.set("DISPATCH_TRUSTED_PROXIES", "127.0.0.1");
    let proxied = TestApp::spawn_env(behind_proxy, true).await;
    proxied.user("proxied").await;
    assert!(login_cookie(&proxied, "proxied", Some("https")).await.contains("; Secure"));
    assert!(!login_cookie(&proxied, "proxied", Some("http")).await.contains("Secure"));

    let mut production = dispatch_tests::TestEnv::new();
    production.set("DISPATCH_ENV", "production");
    let production = TestApp::spawn_env(production, true).await;
    production.user("prod").await;
    assert!(login_cookie(&production, "prod", None).await.contains("; Secure"));
}

/// `/metrics` on the API's port: open in development; behind `DISPATCH_METRICS_TOKEN` when
/// one is set; not served in production mode without one.
#[tokio::test]
async fn metrics_are_kept_from_the_public_in_production() {
    let status = |app: &TestApp, token: Option<&str>| {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.expect("metrics").status().as_u16() }
    };
    let development = TestApp::spawn_without_worker().await;
    assert_eq!(status(&development, None).await, 200);

    let mut env = dispatch_tests::TestEnv::new();
    env.set("DISPATCH_ENV", "production");
    let closed = TestApp::spawn_env(env, false).await;
    assert_eq!(status(&closed, None).await, 404);

    let mut env = dispatch_tests::TestEnv::new();
    env.set("DISPATCH_ENV", "production").set("DISPATCH_METRICS_TOKEN", "scrape-me-0123456789");
    let guarded = TestApp::spawn_env(env, false).await;
    assert_eq!(status(&guarded, None).await, 401);
    assert_eq!(status(&guarded, Some("wrong")).await, 401);
    assert_eq!(status(&guarded, Some("scrape-me-0123456789")).await, 200);
}
