//! Assignments (api.md §5): the daily limit under truly concurrent requests,
//! duplicates, who may assign, see and delete.

use dispatch_tests::Calls;
use dispatch_tests::{TestApp, TestUser};
use reqwest::Method;
use serde_json::{json, Value};

const DATE: &str = "2026-12-01";

async fn task_of(app: &TestApp, owner: &TestUser, title: &str) -> String {
    let task = app.create_task(owner, json!({"title": title})).await;
    task["id"].as_str().unwrap().to_owned()
}

async fn assign(
    app: &TestApp,
    caller: &TestUser,
    task: &str,
    user: &str,
    date: &str,
) -> (u16, Value) {
    app.send(
        Method::POST,
        "/api/v1/assignments/",
        &caller.token,
        &json!({"task_id": task, "user_id": user, "date": date}),
    )
    .await
}

fn problem_type(problem: &Value) -> &str {
    problem["type"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn fifty_concurrent_requests_create_exactly_the_limit() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let worker = app.user("worker").await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        tasks.push(task_of(&app, &owner, &format!("task {i}")).await);
    }
    let outcomes = futures::future::join_all(
        tasks.iter().map(|task| assign(&app, &owner, task, &worker.id, DATE)),
    )
    .await;
    let created = outcomes.iter().filter(|(s, _)| *s == 201).count();
    let refused: Vec<&Value> = outcomes.iter().filter(|(s, _)| *s == 409).map(|(_, p)| p).collect();
    assert_eq!(created, 5, "the default limit: {outcomes:?}");
    assert_eq!(refused.len(), 45);
    assert!(refused.iter().all(|p| problem_type(p).ends_with("daily-limit-reached")));
    assert_eq!(app.env.count_rows("assignments").await, 5);

    // Another date is another day; the limit is per assignee.
    let (status, _) = assign(&app, &owner, &tasks[0], &worker.id, "2026-12-02").await;
    assert_eq!(status, 201);
    let (status, _) = assign(&app, &owner, &tasks[0], &owner.id, DATE).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn duplicates_unknown_assignees_and_foreign_tasks_are_refused() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let worker = app.user("worker").await;
    let stranger = app.user("stranger").await;
    let task = task_of(&app, &owner, "paint").await;

    let (status, assignment) = assign(&app, &owner, &task, &worker.id, DATE).await;
    assert_eq!(status, 201, "{assignment}");
    assert_eq!(assignment["task_id"], task);
    assert_eq!(assignment["user_id"], worker.id);
    assert_eq!(assignment["date"], DATE);
    assert!(assignment["created_at"].is_string());

    let (status, problem) = assign(&app, &owner, &task, &worker.id, DATE).await;
    assert_eq!(status, 409);
    assert!(problem_type(&problem).ends_with("already-assigned"), "{problem}");

    let nobody = uuid_v4();
    let (status, problem) = assign(&app, &owner, &task, &nobody, DATE).await;
    assert_eq!(status, 400);
    assert!(problem["errors"]["user_id"].is_array(), "{problem}");

    app.env
        .execute(&format!("UPDATE users SET is_active = FALSE WHERE id = '{}'", stranger.id))
        .await;
    let (status, problem) = assign(&app, &owner, &task, &stranger.id, DATE).await;
    assert_eq!(status, 400);
    assert!(problem["errors"]["user_id"].is_array(), "{problem}");

    // Someone else's task, or no task: 404 either way.
    let (status, _) = assign(&app, &worker, &task, &worker.id, DATE).await;
    assert_eq!(status, 404);
    let (status, _) = assign(&app, &owner, &uuid_v4(), &worker.id, DATE).await;
    assert_eq!(status, 404);

    for (body, field) in [
        (json!({"task_id": task, "user_id": worker.id}), "date"),
        (json!({"task_id": task, "user_id": worker.id, "date": "2026-13-01"}), "date"),
        (json!({"task_id": task, "user_id": worker.id, "date": "01/12/2026"}), "date"),
        (json!({"task_id": "nope", "user_id": worker.id, "date": DATE}), "task_id"),
        (json!({"task_id": task, "user_id": 5, "date": DATE}), "user_id"),
    ] {
        let (status, problem) =
            app.send(Method::POST, "/api/v1/assignments/", &owner.token, &body).await;
        assert_eq!(status, 400, "{body} → {problem}");
        assert!(problem["errors"][field].is_array(), "{body} → {problem}");
    }
    assert_eq!(app.env.count_rows("assignments").await, 1);
}

#[tokio::test]
async fn visibility_filters_and_deletion_free_the_slot() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let worker = app.user("worker").await;
    let stranger = app.user("stranger").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let task = task_of(&app, &owner, &format!("t{i}")).await;
        let (status, a) = assign(&app, &owner, &task, &worker.id, DATE).await;
        assert_eq!(status, 201);
        ids.push(a["id"].as_str().unwrap().to_owned());
    }
    let extra = task_of(&app, &owner, "extra").await;
    let (status, _) = assign(&app, &owner, &extra, &worker.id, DATE).await;
    assert_eq!(status, 409);

    let list = |who: &TestUser, query: &str| {
        let path = format!("/api/v1/assignments/{query}");
        let token = who.token.clone();
        let app = &app;
        async move { app.read(&path, &token).await.1 }
    };
    assert_eq!(list(&owner, "").await["count"], 5);
    assert_eq!(list(&worker, "").await["count"], 5);
    assert_eq!(list(&stranger, "").await["count"], 0);
    assert_eq!(list(&owner, &format!("?user_id={}", worker.id)).await["count"], 5);
    assert_eq!(list(&owner, &format!("?user_id={}", owner.id)).await["count"], 0);
    assert_eq!(list(&owner, "?date=2026-12-02").await["count"], 0);
    assert_eq!(
        list(&owner, &format!("?date={DATE}&page_size=2")).await["results"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (status, _) = app.read("/api/v1/assignments/?ordering=owner", &owner.token).await;
    assert_eq!(status, 400);

    // A stranger cannot delete (and cannot tell it exists); the assignee can.
    let path = format!("/api/v1/assignments/{}/", ids[0]);
    let (status, _) = app.act(Method::DELETE, &path, &stranger.token).await;
    assert_eq!(status, 404);
    let (status, _) = app.act(Method::DELETE, &path, &worker.token).await;
    assert_eq!(status, 204);
    let (status, _) = app.act(Method::DELETE, &path, &owner.token).await;
    assert_eq!(status, 404);
    // The freed slot is taken again.
    let (status, _) = assign(&app, &owner, &extra, &worker.id, DATE).await;
    assert_eq!(status, 201);

    // Deleting a task takes its assignments along and frees their slots too.
    let (_, page) = app.read("/api/v1/tasks/?search=t1", &owner.token).await;
    let t1 = page["results"][0]["id"].as_str().unwrap().to_owned();
    app.act(Method::DELETE, &format!("/api/v1/tasks/{t1}/"), &owner.token).await;
    assert_eq!(list(&worker, "").await["count"], 4);
    let another = task_of(&app, &owner, "another").await;
    let (status, _) = assign(&app, &owner, &another, &worker.id, DATE).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn lowering_a_limit_keeps_existing_assignments_and_refuses_new_ones() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let worker = app.user("worker").await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let task = task_of(&app, &owner, &format!("t{i}")).await;
        ids.push(
            assign(&app, &owner, &task, &worker.id, DATE).await.1["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Until the admin API exists, the limit is set in the database.
    app.env
        .execute(&format!("UPDATE users SET daily_task_limit = 2 WHERE id = '{}'", worker.id))
        .await;
    let extra = task_of(&app, &owner, "extra").await;
    let (status, problem) = assign(&app, &owner, &extra, &worker.id, DATE).await;
    assert_eq!(status, 409);
    assert!(problem_type(&problem).ends_with("daily-limit-reached"));
    assert_eq!(app.env.count_rows("assignments").await, 4);

    // Three deletions bring the count to 1, under the new limit of 2.
    for id in &ids[..2] {
        app.act(Method::DELETE, &format!("/api/v1/assignments/{id}/"), &owner.token).await;
    }
    let (status, _) = assign(&app, &owner, &extra, &worker.id, DATE).await;
    assert_eq!(status, 409, "2 left, limit 2");
    app.call(Method::DELETE, &format!("/api/v1/assignments/{}/", ids[2]), Some(&owner.token), None)
        .await;
    let (status, _) = assign(&app, &owner, &extra, &worker.id, DATE).await;
    assert_eq!(status, 201);

    // The effective limit is what the profile reports.
    let (_, me) = app.profile(&worker.token).await;
    assert_eq!(me["daily_task_limit"], 2);
}

fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}
