//! `/ws/tasks/`: each user's task changes reach all of that user's sockets on every instance,
//! and nobody else's; sockets close when credentials stop being valid or a client stalls.

use std::time::Duration;

use dispatch_shared::events::{Event, EventPublisher, TaskChange};
use dispatch_shared::models::TaskView;
use dispatch_tests::ws::{close_code, connect, next_json, Socket};
use dispatch_tests::Calls;
use dispatch_tests::{call_at, TestApp, TestUser};
use futures::StreamExt;
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

const PROMPTLY: Duration = Duration::from_secs(5);

fn stream_url(base: &str) -> String {
    format!("{}/ws/tasks/", base.replacen("http://", "ws://", 1))
}

async fn open(base: &str, user: &TestUser) -> Socket {
    // Reference 002's form: the bare token in the authorization header.
    connect(&stream_url(base), &[("authorization", &user.token)]).await
}

/// The subscription starts just after the upgrade, so a write made at once might precede
/// it: makes sure the socket is subscribed by writing a probe task and reading its events.
async fn until_subscribed(app: &TestApp, user: &TestUser, socket: &mut Socket) {
    let probe = app.created("/api/v1/tasks/", &user.token, &json!({"title": "probe"})).await;
    let id = probe["id"].clone();
    loop {
        let message = next_json(socket, PROMPTLY).await;
        if message["id"] == id {
            break;
        }
    }
    let path = format!("/api/v1/tasks/{}/", id.as_str().unwrap());
    app.act(Method::DELETE, &path, &user.token).await;
    let deleted = next_json(socket, PROMPTLY).await;
    assert_eq!(deleted, json!({"id": id, "action": "task_delete"}));
}

#[tokio::test]
async fn events_cross_instances_and_reach_only_their_owner() {
    let app = TestApp::spawn().await;
    let second = app.spawn_second_instance().await;
    let ada = app.user("ada").await;
    let bob = app.user("bob").await;
    let mut ada_socket = open(&second, &ada).await;
    // Bob connects with the token in the query string.
    let mut bob_socket =
        connect(&format!("{}?token={}", stream_url(&second), bob.token), &[]).await;
    // Instance 1 serves the writes; both sockets live on instance 2.
    until_subscribed(&app, &ada, &mut ada_socket).await;
    until_subscribed(&app, &bob, &mut bob_socket).await;

    let (_, created) = app
        .send(
            Method::POST,
            "/api/v1/tasks/",
            &ada.token,
            &json!({"title": "Complete Backend Assessment", "description": "Write it"}),
        )
        .await;
    let message = next_json(&mut ada_socket, PROMPTLY).await;
    let mut expected = created.clone();
    expected["action"] = json!("task_create");
    assert_eq!(message, expected);

    let path = format!("/api/v1/tasks/{}/", created["id"].as_str().unwrap());
    let (_, updated) =
        app.send(Method::PATCH, &path, &ada.token, &json!({"status_task": "DONE"})).await;
    let message = next_json(&mut ada_socket, PROMPTLY).await;
    let mut expected = updated.clone();
    expected["action"] = json!("task_update");
    assert_eq!(message, expected);

    app.act(Method::DELETE, &path, &ada.token).await;
    let message = next_json(&mut ada_socket, PROMPTLY).await;
    assert_eq!(message, json!({"id": created["id"], "action": "task_delete"}));

    // Bob's next message is his own create: none of Ada's three events came before it.
    let (_, bobs) = call_at(
        &app.client,
        &format!("{second}/api/v1/tasks/"),
        Method::POST,
        Some(&bob.token),
        Some(&json!({"title": "bob's"})),
    )
    .await;
    let message = next_json(&mut bob_socket, PROMPTLY).await;
    assert_eq!(message["id"], bobs["id"]);
    assert_eq!(message["action"], "task_create");
    // And it did not reach Ada.
    app.send(Method::POST, "/api/v1/tasks/", &ada.token, &json!({"title": "ada's last"})).await;
    let message = next_json(&mut ada_socket, PROMPTLY).await;
    assert_eq!(message["title"], "ada's last");
}

#[tokio::test]
async fn every_accepted_credential_works_and_none_closes_with_4401() {
    let app = TestApp::spawn().await;
    let ada = app.user("ada").await;
    let url = stream_url(&app.address);
    for headers in [
        vec![("authorization", format!("Bearer {}", ada.token))],
        vec![("cookie", format!("access_token={}", ada.token))],
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut socket = connect(&url, &headers).await;
        until_subscribed(&app, &ada, &mut socket).await;
    }
    for (url, headers) in [
        (url.clone(), vec![]),
        (url.clone(), vec![("authorization", "Bearer not-a-token")]),
        (format!("{url}?token=garbage"), vec![]),
    ] {
        let mut socket = connect(&url, &headers).await;
        assert_eq!(close_code(&mut socket, PROMPTLY).await, Some(4401), "{url} {headers:?}");
    }
    // A plain HTTP request to the stream is a documented 426.
    let response = app.client.get(app.url("/ws/tasks/")).send().await.unwrap();
    assert_eq!(response.status(), 426);
    assert_eq!(response.headers()["upgrade"], "websocket");
}

#[tokio::test]
async fn deactivation_deletion_and_expiry_close_the_socket() {
    let mut env = dispatch_tests::TestEnv::new();
    env.set("DISPATCH_ACCESS_TTL", "3s");
    let app = TestApp::spawn_env(env, true).await;
    let ada = app.user("ada").await;
    let bob = app.user("bob").await;

    // Deactivated behind the API's back (SQL): closed within 5 s all the same.
    let mut socket = open(&app.address, &ada).await;
    until_subscribed(&app, &ada, &mut socket).await;
    let started = std::time::Instant::now();
    app.env.execute(&format!("UPDATE users SET is_active = FALSE WHERE id = '{}'", ada.id)).await;
    assert_eq!(close_code(&mut socket, Duration::from_secs(5)).await, Some(4401));
    assert!(started.elapsed() < Duration::from_secs(5));

    // Deleted through the API: closed at once.
    let mut socket = open(&app.address, &bob).await;
    let (status, _) = app.act(Method::DELETE, "/api/v1/auth/profile/", &bob.token).await;
    assert_eq!(status, 204);
    assert_eq!(close_code(&mut socket, Duration::from_secs(5)).await, Some(4401));

    // An access token that expires ends its socket.
    let carol = app.user("carol").await;
    let mut socket = open(&app.address, &carol).await;
    assert_eq!(close_code(&mut socket, Duration::from_secs(8)).await, Some(4401));
}

#[tokio::test]
async fn a_socket_that_never_reads_is_cut_off_without_slowing_others() {
    let app = TestApp::spawn().await;
    let ada = app.user("ada").await;
    let mut stalled = open(&app.address, &ada).await;
    let mut reader = open(&app.address, &ada).await;
    until_subscribed(&app, &ada, &mut stalled).await;
    until_subscribed(&app, &ada, &mut reader).await;

    let settings = app.settings();
    let client = redis::Client::open(settings.redis_url.as_str()).unwrap();
    let publisher = EventPublisher::new(
        redis::aio::ConnectionManager::new(client).await.unwrap(),
        &settings.redis_namespace,
    );
    let user_id = ada.id.parse().unwrap();
    // 10,000 events of 2 KB through the real pub/sub path (more than the kernel's socket
    // buffers hold); the reader keeps up, the stalled socket reads nothing at all.
    const EVENTS: usize = 10_000;
    const BATCH: usize = 200;
    let mut received = 0;
    for batch in 0..EVENTS / BATCH {
        for i in 0..BATCH {
            let n = batch * BATCH + i;
            let event = Event::Task {
                user_id,
                change: TaskChange::Updated(TaskView {
                    id: Uuid::from_u128(n as u128),
                    title: "x".repeat(2000),
                    description: String::new(),
                    status_task: "TO DO".into(),
                    date_created: chrono::Utc::now(),
                    last_updated: chrono::Utc::now(),
                }),
            };
            // Handed over without waiting, except the last: they still leave in order.
            if i + 1 < BATCH {
                publisher.publish_in_background(&event);
            } else {
                publisher.publish(&event).await;
            }
        }
        while received < (batch + 1) * BATCH {
            let message = next_json(&mut reader, PROMPTLY).await;
            assert_eq!(
                message["id"],
                json!(Uuid::from_u128(received as u128)),
                "events arrive in order"
            );
            received += 1;
        }
    }
    assert_eq!(received, EVENTS);

    // The stalled client finally reads: what was queued before the cut, then a close that
    // says why.
    let mut seen = 0;
    let code = loop {
        match tokio::time::timeout(PROMPTLY, stalled.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => seen += 1,
            Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => {}
            other => panic!("the stalled socket ended without a close frame: {other:?}"),
        }
    };
    assert_eq!(code, Some(1008));
    assert!(seen < EVENTS, "the stalled socket's queue was bounded ({seen} messages)");
}

/// A message over the 64 KiB limit is refused with close code 1009 and a reason, on both
/// WebSocket endpoints, instead of a dropped connection (1006).
#[tokio::test]
async fn an_oversized_message_is_closed_with_1009() {
    use futures::SinkExt;
    let mut app = TestApp::spawn().await;
    let user = app.user("big_talker").await;
    // A registration that stays queued, so its job socket stays open.
    app.stop_worker().await;
    let accepted = app
        .post(
            "/api/v1/auth/register/",
            &json!({"username": "pending", "email": "pending@example.com", "password": "pending-pass-1"}),
        )
        .await;
    let job: serde_json::Value = accepted.json().await.expect("the job");
    let job_path = format!("/ws/jobs/{}/", job["job_id"].as_str().expect("a job id"));
    for path in ["/ws/tasks/", job_path.as_str()] {
        let mut socket =
            connect(&app.ws_url(path), &[("authorization", &format!("Bearer {}", user.token))])
                .await;
        if path.starts_with("/ws/jobs/") {
            next_json(&mut socket, PROMPTLY).await;
        }
        // Sent while reading, as a browser does: the close frame arrives during the send.
        let (mut sink, mut stream) = socket.split();
        let sending = tokio::spawn(async move {
            let _ = sink.send(Message::Text("x".repeat(10 * 1024 * 1024).into())).await;
        });
        let code = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(message)) = stream.next().await {
                if let Message::Close(frame) = message {
                    return frame.map(|f| u16::from(f.code));
                }
            }
            None
        })
        .await
        .expect("the server answers in time");
        sending.abort();
        assert_eq!(code, Some(1009), "{path}");
    }
}

/// The binary runs sessions on a runtime apart from HTTP: a session lives there for as long
/// as its socket and no longer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_run_on_the_runtime_given_to_them_and_end_with_their_socket() {
    let sockets = SessionsRuntime(Some(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the sessions"),
    ));
    let alive = || sockets.handle().metrics().num_alive_tasks();
    let app = TestApp::spawn_with_sessions_on(
        dispatch_tests::TestEnv::new(),
        true,
        sockets.handle().clone(),
    )
    .await;
    let ada = app.user("ada").await;
    assert_eq!(alive(), 0);

    let mut socket = open(&app.address, &ada).await;
    until_subscribed(&app, &ada, &mut socket).await;
    assert!(alive() >= 1, "the session runs on the sessions' runtime");
    let created = app.created("/api/v1/tasks/", &ada.token, &json!({"title": "t"})).await;
    let message = next_json(&mut socket, PROMPTLY).await;
    assert_eq!((&message["id"], &message["action"]), (&created["id"], &json!("task_create")));

    socket.close(None).await.expect("the close frame goes out");
    dispatch_tests::wait_until(PROMPTLY, "the session to end", || async {
        (alive() == 0).then_some(())
    })
    .await;
}

/// A runtime dropped inside a test's runtime must not block, even when the test fails.
struct SessionsRuntime(Option<tokio::runtime::Runtime>);

impl SessionsRuntime {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("running").handle()
    }
}

impl Drop for SessionsRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
