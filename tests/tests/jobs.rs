use std::time::Duration;

use dispatch_shared::jobs::JobKind;
use dispatch_shared::repo::jobs as job_repo;
use dispatch_tests::{ws, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

/// A job row owned by `owner`, as later job kinds create them.
async fn owned_job(app: &TestApp, owner: &str) -> String {
    let settings = app.settings();
    let pool = dispatch_shared::db::build_pool(&settings.database_url, 1);
    let mut conn = pool.get().await.unwrap();
    let job = job_repo::new_job(
        JobKind::DailyMail,
        Some(uuid::Uuid::parse_str(owner).unwrap()),
        None,
        None,
    );
    job_repo::insert(&mut conn, &job).await.unwrap();
    job.id.to_string()
}

#[tokio::test]
async fn registration_jobs_are_readable_and_acknowledgeable_by_id() {
    let app = TestApp::spawn().await;
    let id = app.registration_job("ack_user").await;
    let job = app.await_job(&id, None).await;
    assert_eq!(job["status"], "succeeded");
    let path = format!("/api/v1/jobs/{id}/");
    assert_eq!(app.status(Method::DELETE, &path, None).await, 204);
    assert_eq!(app.status(Method::GET, &path, None).await, 404);
    assert_eq!(app.status(Method::GET, "/api/v1/jobs/not-a-uuid/", None).await, 404);
}

#[tokio::test]
async fn owned_jobs_are_visible_to_their_owner_only_and_listed_newest_first() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice_jobs", "alice-pass-1").await;
    let bob = app.register("bob_jobs", "bob-pass-12").await;
    let alice_token = alice["tokens"]["access"].as_str().unwrap();
    let bob_token = bob["tokens"]["access"].as_str().unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(owned_job(&app, alice["id"].as_str().unwrap()).await);
    }
    let path = format!("/api/v1/jobs/{}/", ids[0]);
    assert_eq!(app.get_auth(&path, alice_token).await.status(), 200);
    assert_eq!(app.get_auth(&path, bob_token).await.status(), 404);
    assert_eq!(app.status(Method::GET, &path, None).await, 404);
    assert_eq!(app.status(Method::DELETE, &path, Some(bob_token)).await, 404);
    assert_eq!(app.status(Method::GET, "/api/v1/jobs/", None).await, 401);
    let page: Value =
        app.get_auth("/api/v1/jobs/?page_size=2", alice_token).await.json().await.unwrap();
    assert_eq!(page["count"], 3);
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    assert!(page["previous"].is_null());
    let next = page["next"].as_str().unwrap();
    assert!(next.contains("page=2") && next.contains("page_size=2"), "{next}");
    let newest = page["results"][0]["id"].as_str().unwrap();
    assert_eq!(newest, ids[2]);
    let page2: Value = app.get_auth(next, alice_token).await.json().await.unwrap();
    assert_eq!(page2["results"].as_array().unwrap().len(), 1);
    assert!(page2["next"].is_null());
    assert!(page2["previous"].is_string());
    let empty: Value = app.get_auth("/api/v1/jobs/", bob_token).await.json().await.unwrap();
    assert_eq!(empty["count"], 0);
    assert_eq!(app.get_auth("/api/v1/jobs/?page=9", alice_token).await.status(), 404);
    assert_eq!(app.get_auth("/api/v1/jobs/?page=0", alice_token).await.status(), 400);
    assert_eq!(app.get_auth("/api/v1/jobs/?page=-1", alice_token).await.status(), 400);
    assert_eq!(app.get_auth("/api/v1/jobs/?page_size=x", alice_token).await.status(), 400);
    // The largest documented page is simply past the end; beyond it is out of range.
    let last = format!("/api/v1/jobs/?page={}&page_size=100", (1u64 << 53) - 1);
    assert_eq!(app.get_auth(&last, alice_token).await.status(), 404);
    let absurd = format!("/api/v1/jobs/?page={}&page_size=100", u64::MAX);
    assert_eq!(app.get_auth(&absurd, alice_token).await.status(), 400);
    let clamped: Value =
        app.get_auth("/api/v1/jobs/?page_size=1000", alice_token).await.json().await.unwrap();
    assert_eq!(clamped["results"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn websocket_on_a_finished_job_sends_it_and_closes_normally() {
    let app = TestApp::spawn().await;
    let id = app.registration_job("ws_done").await;
    let polled = app.await_job(&id, None).await;
    let t = ws::follow(&app.ws_url(&format!("/ws/jobs/{id}/")), &[], Duration::from_secs(10)).await;
    assert_eq!(t.messages, vec![polled]);
    assert_eq!(t.close_code, Some(1000));
}

#[tokio::test]
async fn websocket_follows_a_queued_job_to_its_end() {
    let mut app = TestApp::spawn_without_worker().await;
    let id = app.registration_job("ws_wait").await;
    let url = app.ws_url(&format!("/ws/jobs/{id}/"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    let first: Value =
        serde_json::from_str(ws::next_message(&mut socket).await.to_text().unwrap()).unwrap();
    assert_eq!(first["status"], "queued");
    assert_eq!(first["id"], id.as_str());

    app.start_worker();
    let mut last = first;
    let close_code = loop {
        match ws::next_message(&mut socket).await {
            tokio_tungstenite::tungstenite::Message::Text(text) => {
                last = serde_json::from_str(&text).unwrap()
            }
            tokio_tungstenite::tungstenite::Message::Close(frame) => {
                break frame.map(|f| u16::from(f.code))
            }
            _ => {}
        }
    };
    assert_eq!(last["status"], "succeeded");
    assert_eq!(last["result"]["username"], "ws_wait");
    assert_eq!(close_code, Some(1000));
}

#[tokio::test]
async fn websocket_closes_4404_for_unknown_or_foreign_jobs() {
    let app = TestApp::spawn().await;
    let unknown = uuid::Uuid::new_v4();
    let t = ws::follow(&app.ws_url(&format!("/ws/jobs/{unknown}/")), &[], Duration::from_secs(10))
        .await;
    assert!(t.messages.is_empty());
    assert_eq!(t.close_code, Some(4404));
    let t = ws::follow(&app.ws_url("/ws/jobs/garbage"), &[], Duration::from_secs(10)).await;
    assert_eq!(t.close_code, Some(4404));

    let owner = app.register("ws_owner", "owner-pass-1").await;
    let other = app.register("ws_other", "other-pass-1").await;
    let job = owned_job(&app, owner["id"].as_str().unwrap()).await;
    let url = app.ws_url(&format!("/ws/jobs/{job}/"));
    let owner_token = owner["tokens"]["access"].as_str().unwrap();
    let other_token = other["tokens"]["access"].as_str().unwrap();
    assert_eq!(ws::follow(&url, &[], Duration::from_secs(10)).await.close_code, Some(4404));
    let foreign =
        ws::follow(&format!("{url}?token={other_token}"), &[], Duration::from_secs(10)).await;
    assert_eq!(foreign.close_code, Some(4404));

    // The owner may follow it, with the token in the query, the header or the cookie; the
    // job stays queued (no handler finishes it here), so read only the first message.
    for (query, headers) in [
        (format!("?token={owner_token}"), vec![]),
        (String::new(), vec![("authorization", format!("Bearer {owner_token}"))]),
        (String::new(), vec![("authorization", owner_token.to_owned())]),
        (String::new(), vec![("cookie", format!("access_token={owner_token}"))]),
    ] {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = format!("{url}{query}").into_client_request().unwrap();
        for (k, v) in &headers {
            request.headers_mut().insert(*k, v.parse().unwrap());
        }
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let first = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a first message")
            .unwrap()
            .unwrap();
        let job_json: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
        assert_eq!(job_json["id"], job.as_str());
    }
}

#[tokio::test]
async fn a_followers_job_socket_closes_when_the_account_is_deactivated() {
    // The row is written directly, not pushed: it stays queued while the test runs.
    let app = TestApp::spawn().await;
    let owner = app.user("follower").await;
    let id = owned_job(&app, &owner.id).await;
    let mut socket =
        ws::connect(&app.ws_url(&format!("/ws/jobs/{id}/")), &[("authorization", &owner.token)])
            .await;
    let first = ws::next_json(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(first["status"], "queued");
    app.env.execute(&format!("UPDATE users SET is_active = FALSE WHERE id = '{}'", owner.id)).await;
    assert_eq!(ws::close_code(&mut socket, Duration::from_secs(5)).await, Some(4401));
}

#[tokio::test]
async fn a_new_job_wakes_an_idle_worker_that_polls_only_hourly() {
    let mut env = dispatch_tests::TestEnv::new();
    env.set("DISPATCH_WORKER_POLL", "1h");
    let app = TestApp::spawn_env(env, true).await;
    // One after another, each while the worker is idle: only the push's `available`
    // message can bring each job to it within the wait.
    for i in 0..3 {
        let response = app
            .client
            .post(app.url("/api/v1/auth/register/"))
            .header("Prefer", "wait=15")
            .json(
                &json!({"username": format!("woken_{i}"), "email": format!("woken_{i}@example.com"),
                          "password": "job-pass-12"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "registration {i} was not picked up");
    }
}
