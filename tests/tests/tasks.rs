//! Tasks (api.md §4): CRUD, validation, ownership, and the shared list piece
//! (pagination, filters, ordering) as every list endpoint uses it.

use dispatch_tests::Calls;
use dispatch_tests::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

fn titles(page: &Value) -> Vec<&str> {
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|t| t["title"].as_str().expect("a title"))
        .collect()
}

#[tokio::test]
async fn crud_flow_of_reference_002() {
    let app = TestApp::spawn().await;
    let ada = app.user("ada").await;
    let task = app.create_task(&ada,
        json!({"title": "Complete Backend Assessment", "description": "Write and submit the project proposal", "status_task": "TO DO"}),
    )
    .await;
    let id = task["id"].as_str().unwrap().to_owned();
    let mut keys: Vec<&str> = task.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["date_created", "description", "id", "last_updated", "status_task", "title"]);
    assert_eq!(task["date_created"], task["last_updated"]);

    let path = format!("/api/v1/tasks/{id}/");
    let (status, fetched) = app.read(&path, &ada.token).await;
    assert_eq!((status, &fetched), (200, &task));
    // Without the trailing slash too.
    let (status, _) = app.read(path.trim_end_matches('/'), &ada.token).await;
    assert_eq!(status, 200);

    let (status, put) = app
        .send(
            Method::PUT,
            &path,
            &ada.token,
            &json!({"title": "Complete Backend Assessment", "status_task": "DONE"}),
        )
        .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["status_task"], "DONE");
    assert_eq!(put["description"], "", "PUT resets an omitted description");
    assert_eq!(put["date_created"], task["date_created"]);
    assert_ne!(put["last_updated"], task["last_updated"]);

    let (status, patched) =
        app.send(Method::PATCH, &path, &ada.token, &json!({"status_task": "IN PROGRESS"})).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["status_task"], "IN PROGRESS");
    assert_eq!(patched["title"], "Complete Backend Assessment");

    let (status, list) = app.read("/api/v1/tasks/", &ada.token).await;
    assert_eq!(status, 200);
    assert_eq!(list["count"], 1);
    assert_eq!(list["next"], Value::Null);
    assert_eq!(list["previous"], Value::Null);
    assert_eq!(list["results"][0], patched);

    let (status, deleted) = app.act(Method::DELETE, &path, &ada.token).await;
    assert_eq!((status, deleted), (200, json!({"message": "Task deleted successfully"})));
    let (status, _) = app.read(&path, &ada.token).await;
    assert_eq!(status, 404);
    let (status, _) = app.act(Method::DELETE, &path, &ada.token).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn invalid_tasks_get_field_errors_and_change_nothing() {
    let app = TestApp::spawn().await;
    let ada = app.user("ada").await;
    let long = "x".repeat(101);
    let cases = [
        (json!({}), "title"),
        (json!({"title": null}), "title"),
        (json!({"title": "  \t "}), "title"),
        (json!({"title": long}), "title"),
        (json!({"title": 7}), "title"),
        (json!({"title": "ok", "description": "d".repeat(10_001)}), "description"),
        (json!({"title": "ok", "description": ["no"]}), "description"),
        (json!({"title": "ok", "status_task": "done"}), "status_task"),
        (json!({"title": "ok", "status_task": "FINISHED"}), "status_task"),
    ];
    for (body, field) in cases {
        let (status, problem) = app.send(Method::POST, "/api/v1/tasks/", &ada.token, &body).await;
        assert_eq!(status, 400, "{body} → {problem}");
        assert!(problem["errors"][field].is_array(), "{body} should name {field}: {problem}");
    }
    // Bodies that are not JSON objects at all.
    for (content_type, body, status) in
        [("application/json", "{not json", 400), ("text/plain", "title", 415)]
    {
        let response = app
            .client
            .post(app.url("/api/v1/tasks/"))
            .bearer_auth(&ada.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{content_type}: {body}");
    }
    assert_eq!(app.env.count_rows("tasks").await, 0);

    // Exactly 100 characters (not bytes) is fine, and titles are trimmed.
    let long = app.create_task(&ada, json!({"title": "é".repeat(100)})).await;
    assert_eq!(long["title"].as_str().unwrap().chars().count(), 100);
    let task = app.create_task(&ada, json!({"title": "  trimmed\n"})).await;
    assert_eq!(task["title"], "trimmed");
    assert_eq!(task["status_task"], "TO DO");
    assert_eq!(task["description"], "");

    let path = format!("/api/v1/tasks/{}/", task["id"].as_str().unwrap());
    let (status, problem) = app.send(Method::PATCH, &path, &ada.token, &json!({"title": ""})).await;
    assert_eq!(status, 400);
    assert!(problem["errors"]["title"].is_array());
    let (status, problem) =
        app.send(Method::PUT, &path, &ada.token, &json!({"status_task": "DONE"})).await;
    assert_eq!(status, 400, "PUT needs the title");
    assert!(problem["errors"]["title"].is_array());
    let (_, unchanged) = app.read(&path, &ada.token).await;
    assert_eq!(unchanged, task);

    let (status, _) = app.call(Method::GET, "/api/v1/tasks/", None, None).await;
    assert_eq!(status, 401);
    let (status, _) =
        app.call(Method::POST, "/api/v1/tasks/", None, Some(&json!({"title": "x"}))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn another_users_task_is_not_found_on_every_verb() {
    let app = TestApp::spawn().await;
    let ada = app.user("ada").await;
    let bob = app.user("bob").await;
    let task = app.create_task(&ada, json!({"title": "private"})).await;
    let path = format!("/api/v1/tasks/{}/", task["id"].as_str().unwrap());
    let body = json!({"title": "stolen"});
    for (method, body) in [
        (Method::GET, None),
        (Method::PUT, Some(&body)),
        (Method::PATCH, Some(&body)),
        (Method::DELETE, None),
    ] {
        let (status, problem) = app.call(method.clone(), &path, Some(&bob.token), body).await;
        assert_eq!(status, 404, "{method} → {problem}");
    }
    let (_, list) = app.read("/api/v1/tasks/", &bob.token).await;
    assert_eq!(list["count"], 0);
    let (_, still) = app.read(&path, &ada.token).await;
    assert_eq!(still, task);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_each_get_their_own_task_and_never_anothers() {
    // Reads that arrive together share one statement; each must still get exactly its own
    // task, and a read of someone else's task among them must still be a 404.
    let app = TestApp::spawn().await;
    let ada = app.user("ada").await;
    let bob = app.user("bob").await;
    let mut owned = Vec::new();
    for i in 0..8 {
        for user in [&ada, &bob] {
            let task =
                app.create_task(user, json!({"title": format!("{} {i}", user.username)})).await;
            owned.push((user, task));
        }
    }
    let reads = (0..6).flat_map(|_| owned.iter()).flat_map(|(owner, task)| {
        let other = if owner.username == ada.username { &bob } else { &ada };
        [(*owner, task, true), (other, task, false)]
    });
    let outcomes = futures::future::join_all(reads.map(|(reader, task, own)| {
        let app = &app;
        async move {
            let path = format!("/api/v1/tasks/{}/", task["id"].as_str().unwrap());
            let (status, body) = app.read(&path, &reader.token).await;
            (status, body, task, own)
        }
    }))
    .await;
    assert_eq!(outcomes.len(), 6 * 16 * 2);
    for (status, body, task, own) in outcomes {
        if own {
            assert_eq!(status, 200, "{body}");
            assert_eq!(&body, task);
        } else {
            assert_eq!(status, 404, "{body}");
        }
    }
}

#[tokio::test]
async fn lists_filter_search_order_and_page() {
    let app = TestApp::spawn().await;
    let ada = app.user("ada").await;
    let bob = app.user("bob").await;
    for (title, description, status) in [
        ("Buy milk", "semi-skimmed", "TO DO"),
        ("write REPORT", "quarterly", "IN PROGRESS"),
        ("Call Alice", "about the report", "DONE"),
        ("100% done", "literal percent", "DONE"),
        ("archive", "", "TO DO"),
    ] {
        app.create_task(
            &ada,
            json!({"title": title, "description": description, "status_task": status}),
        )
        .await;
    }
    app.create_task(&bob, json!({"title": "bob's report"})).await;
    let get = |query: &str| {
        let path = format!("/api/v1/tasks/{query}");
        let app = &app;
        let token = ada.token.clone();
        async move { app.read(&path, &token).await }
    };

    // Newest first by default.
    let (_, all) = get("").await;
    assert_eq!(all["count"], 5);
    assert_eq!(titles(&all), ["archive", "100% done", "Call Alice", "write REPORT", "Buy milk"]);

    let (_, done) = get("?status_task=DONE&ordering=title").await;
    assert_eq!(titles(&done), ["100% done", "Call Alice"]);

    // Case-insensitive substring of title or description; wildcards are literal.
    let (_, report) = get("?search=RePoRt&ordering=title").await;
    assert_eq!(titles(&report), ["Call Alice", "write REPORT"]);
    let (_, percent) = get("?search=%25").await;
    assert_eq!(titles(&percent), ["100% done"]);
    let (_, underscore) = get("?search=_").await;
    assert_eq!(underscore["count"], 0);

    let (_, by_title_desc) = get("?ordering=-title").await;
    assert_eq!(
        titles(&by_title_desc),
        ["write REPORT", "Call Alice", "Buy milk", "archive", "100% done"]
    );
    let (_, by_status_then_title) = get("?ordering=date_created,title").await;
    assert_eq!(titles(&by_status_then_title)[0], "Buy milk");

    for bad in [
        "?ordering=colour",
        "?ordering=title,",
        "?ordering=",
        "?status_task=LATER",
        "?page_size=0",
        "?page=0",
        "?page=-1",
    ] {
        let (status, problem) = get(bad).await;
        assert_eq!(status, 400, "{bad} → {problem}");
        assert!(problem["errors"].is_object(), "{bad} → {problem}");
    }

    // Pages of two: next and previous keep the other parameters.
    let (_, first) = get("?page_size=2&ordering=title").await;
    assert_eq!(first["count"], 5);
    assert_eq!(titles(&first), ["100% done", "archive"]);
    assert_eq!(first["previous"], Value::Null);
    let next = first["next"].as_str().expect("a next page").to_owned();
    assert!(
        next.contains("page=2") && next.contains("ordering=title") && next.contains("page_size=2")
    );
    assert!(
        next.trim_start_matches(&app.address).starts_with("/api/v1/tasks/?"),
        "the link keeps the published path: {next}"
    );
    let next_path = next.trim_start_matches(&app.address);
    let (_, second) = app.read(next_path, &ada.token).await;
    assert_eq!(titles(&second), ["Buy milk", "Call Alice"]);
    assert!(second["previous"].as_str().unwrap().contains("page=1"));
    let (_, third) = get("?page_size=2&ordering=title&page=3").await;
    assert_eq!(titles(&third), ["write REPORT"]);
    assert_eq!(third["next"], Value::Null);
    let (status, _) = get("?page_size=2&page=4").await;
    assert_eq!(status, 404, "a page past the end");
    let (_, clamped) = get("?page_size=1000").await;
    assert_eq!(clamped["results"].as_array().unwrap().len(), 5);
}
