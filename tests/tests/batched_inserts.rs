//! Creates that arrive together share one statement and one commit, each answered only
//! once its row is committed; a row the database refuses fails alone.

use dispatch_tests::Calls;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use diesel::QueryResult;
use diesel_async::AsyncMysqlConnection;
use dispatch_core::tasks::writes::NewTasks;
use dispatch_core::writes::{BatchedInsert, BatchedInserts};
use dispatch_shared::db::id::Id;
use dispatch_shared::models::{now_naive, TaskRow};
use dispatch_tests::TestApp;
use uuid::Uuid;

/// Records the size of every statement; otherwise the task inserts.
struct CountedTasks;

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);
static SIZES: Mutex<Vec<usize>> = Mutex::new(Vec::new());

impl BatchedInsert for CountedTasks {
    type Row = TaskRow;
    const WHAT: &'static str = "counted task";
    const MAX_BATCH: usize = NewTasks::MAX_BATCH;

    async fn insert_many(conn: &mut AsyncMysqlConnection, rows: &[TaskRow]) -> QueryResult<()> {
        STATEMENTS.fetch_add(1, Ordering::SeqCst);
        SIZES.lock().unwrap_or_else(|p| p.into_inner()).push(rows.len());
        NewTasks::insert_many(conn, rows).await
    }
}

fn task(owner: Uuid, title: &str) -> TaskRow {
    let now = now_naive();
    TaskRow {
        id: Id::random(),
        owner_id: Id(owner),
        title: title.to_owned(),
        description: String::new(),
        status_task: "TO DO".to_owned(),
        date_created: now,
        last_updated: now,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserts_that_arrive_together_share_statements_and_a_refused_row_fails_alone() {
    let app = TestApp::spawn().await;
    let user = app.user("batch_writer").await;
    let owner = Uuid::parse_str(&user.id).expect("a user id");
    let db = dispatch_shared::db::build_pool(&app.settings().database_url, 4);
    let inserts = BatchedInserts::<CountedTasks>::spawn(db, 1);

    // 47 good rows, then one whose owner does not exist (a foreign-key violation), queued
    // behind the others so that it shares a statement with some of them.
    let mut rows: Vec<TaskRow> = (0..47).map(|n| task(owner, &format!("task {n}"))).collect();
    rows.push(task(Uuid::new_v4(), "orphan"));
    let outcomes =
        futures::future::join_all(rows.iter().cloned().map(|row| inserts.insert(row))).await;

    for (row, outcome) in rows.iter().zip(&outcomes) {
        if row.title == "orphan" {
            assert!(outcome.is_err(), "the orphan's insert must fail");
        } else {
            assert!(outcome.is_ok(), "{}: {:?}", row.title, outcome);
        }
    }
    // Every answered row is committed: another connection sees all of them.
    let stored = app.env.count_matching("tasks", &format!("owner_id = '{owner}'")).await;
    assert_eq!(stored, 47);
    let sizes = SIZES.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(sizes.iter().any(|&n| n > 1), "no statement carried more than one row: {sizes:?}");
    // One statement per row would be 48, plus the orphan's batch written again row by row.
    let statements = STATEMENTS.load(Ordering::SeqCst);
    assert!(statements < 48, "{statements} statements for 48 rows: {sizes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_created_task_is_stored_and_listed_when_its_201_arrives() {
    let app = TestApp::spawn().await;
    let user = app.user("batch_creator").await;
    let app = &app;
    let created = futures::future::join_all((0..40).map(|n| {
        let token = user.token.clone();
        async move {
            let task = app
                .created(
                    "/api/v1/tasks/",
                    &token,
                    &serde_json::json!({"title": format!("created {n}")}),
                )
                .await;
            // Read back at once, by id: the 201 means it is committed.
            let (status, body) = app
                .read(&format!("/api/v1/tasks/{}/", task["id"].as_str().expect("an id")), &token)
                .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["title"], format!("created {n}"));
            task
        }
    }))
    .await;
    assert_eq!(created.len(), 40);
    let (status, page) = app.read("/api/v1/tasks/?page_size=100", &user.token).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["count"], 40, "{page}");
}
