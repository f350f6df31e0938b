//! An instance answers a list page it has kept only while the owner's list version is the
//! one it kept the page at; the database counts the version up with every change to the
//! owner's tasks. So a change committed through any instance, or by hand, shows in the next
//! list on every instance.

use std::sync::atomic::{AtomicBool, Ordering};

use dispatch_tests::{call_at, TestApp, TestUser};
use reqwest::Method;
use serde_json::{json, Value};

async fn list_at(app: &TestApp, base: &str, path: &str, user: &TestUser) -> Value {
    let (status, page) =
        call_at(&app.client, &format!("{base}{path}"), Method::GET, Some(&user.token), None).await;
    assert_eq!(status, 200, "{page}");
    page
}

fn titles(page: &Value) -> Vec<String> {
    let results = page["results"].as_array().expect("results");
    results.iter().map(|t| t["title"].as_str().expect("a title").to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_page_is_answered_until_the_owners_version_moves() {
    let app = TestApp::spawn().await;
    let user = app.user("kept_page_owner").await;
    let task = app.create_task(&user, json!({"title": "first"})).await;
    let path = "/api/v1/tasks/";
    let page = list_at(&app, &app.address, path, &user).await;
    assert_eq!(titles(&page), ["first"]);
    let task_id = task["id"].as_str().expect("an id");
    let rename = |title: &str| format!("UPDATE tasks SET title = '{title}' WHERE id = '{task_id}'");

    // A row changed by hand moves the version too (the triggers see every statement).
    assert_eq!(app.env.execute(&rename("edited by hand")).await, 1);
    assert_eq!(titles(&list_at(&app, &app.address, path, &user).await), ["edited by hand"]);

    // A change that bypasses the version (its trigger dropped in this test's own database)
    // is not seen by the instance that kept the page, and is by one that has none.
    app.env.execute("DROP TRIGGER tasks_updated_count_version").await;
    assert_eq!(app.env.execute(&rename("changed by hand")).await, 1);
    assert_eq!(titles(&list_at(&app, &app.address, path, &user).await), ["edited by hand"]);
    let second = app.spawn_second_instance().await;
    assert_eq!(titles(&list_at(&app, &second, path, &user).await), ["changed by hand"]);

    // Moving the version is what every change does: the kept page goes.
    app.env
        .execute(&format!(
            "UPDATE task_list_versions SET version = version + 1 WHERE owner_id = '{}'",
            user.id
        ))
        .await;
    assert_eq!(titles(&list_at(&app, &app.address, path, &user).await), ["changed by hand"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_change_through_another_instance_shows_in_the_next_list() {
    let app = TestApp::spawn().await;
    let user = app.user("kept_page_changes").await;
    let other = app.user("kept_page_bystander").await;
    let second = app.spawn_second_instance().await;
    let path = "/api/v1/tasks/?ordering=title";
    let done_path = "/api/v1/tasks/?status_task=DONE";
    let write = |method: Method, path: String, body: Option<Value>| {
        let (client, base, token) = (app.client.clone(), second.clone(), user.token.clone());
        async move {
            call_at(&client, &format!("{base}{path}"), method, Some(&token), body.as_ref()).await
        }
    };

    let (status, a) =
        write(Method::POST, "/api/v1/tasks/".into(), Some(json!({"title": "a"}))).await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(titles(&list_at(&app, &app.address, path, &user).await), ["a"]);
    assert_eq!(list_at(&app, &app.address, done_path, &user).await["count"], 0);
    // Another owner's change leaves this owner's kept pages as they are, and correct.
    app.create_task(&other, json!({"title": "not yours"})).await;
    assert_eq!(titles(&list_at(&app, &app.address, path, &user).await), ["a"]);

    let (status, b) =
        write(Method::POST, "/api/v1/tasks/".into(), Some(json!({"title": "b"}))).await;
    assert_eq!(status, 201, "{b}");
    assert_eq!(titles(&list_at(&app, &app.address, path, &user).await), ["a", "b"]);

    let a_path = format!("/api/v1/tasks/{}/", a["id"].as_str().expect("an id"));
    let (status, body) =
        write(Method::PATCH, a_path.clone(), Some(json!({"title": "c", "status_task": "DONE"})))
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(titles(&list_at(&app, &app.address, path, &user).await), ["b", "c"]);
    let done = list_at(&app, &app.address, done_path, &user).await;
    assert_eq!((done["count"].clone(), titles(&done)), (json!(1), vec!["c".to_owned()]));

    let (status, body) = write(Method::DELETE, a_path, None).await;
    assert_eq!(status, 200, "{body}");
    let page = list_at(&app, &app.address, path, &user).await;
    assert_eq!((page["count"].clone(), titles(&page)), (json!(1), vec!["b".to_owned()]));
    assert_eq!(list_at(&app, &app.address, done_path, &user).await["count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_after_a_write_through_another_instance_shows_it_while_lists_run() {
    let app = TestApp::spawn().await;
    let user = app.user("kept_page_race").await;
    let second = app.spawn_second_instance().await;
    let path = "/api/v1/tasks/?page_size=100";
    let stop = AtomicBool::new(false);
    // Clients keep listing on the first instance, so its page is kept, asked for and
    // replaced all the time while the second instance writes.
    let readers = futures::future::join_all((0..6).map(|_| async {
        let mut lists = 0;
        while !stop.load(Ordering::SeqCst) {
            list_at(&app, &app.address, path, &user).await;
            lists += 1;
        }
        lists
    }));
    let writer = async {
        let url = format!("{second}/api/v1/tasks/");
        for i in 0..20 {
            let body = json!({"title": format!("written {i}")});
            let (status, task) =
                call_at(&app.client, &url, Method::POST, Some(&user.token), Some(&body)).await;
            assert_eq!(status, 201, "{task}");
            let page = list_at(&app, &app.address, path, &user).await;
            assert_eq!(page["count"], i + 1, "{page}");
            assert!(
                page["results"].as_array().expect("results").iter().any(|t| t["id"] == task["id"]),
                "task {i} missing from the list read after its 201: {page}"
            );
            let renamed = json!({"title": format!("renamed {i}")});
            let task_url = format!("{url}{}/", task["id"].as_str().expect("an id"));
            let (status, body) =
                call_at(&app.client, &task_url, Method::PATCH, Some(&user.token), Some(&renamed))
                    .await;
            assert_eq!(status, 200, "{body}");
            let page = list_at(&app, &app.address, path, &user).await;
            assert!(
                titles(&page).contains(&format!("renamed {i}")),
                "rename {i} missing from the list read after its 200: {page}"
            );
        }
        stop.store(true, Ordering::SeqCst);
    };
    let (lists, ()) = futures::future::join(readers, writer).await;
    assert!(lists.iter().all(|&n| n > 0), "every reader listed: {lists:?}");
}
