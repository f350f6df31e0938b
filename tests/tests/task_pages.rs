//! Equal list requests that arrive together share one read, and sharing never hides a write:
//! a list asked for after a task's 201 shows the task, however many equal lists are running.

use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::QueryResult;
use diesel_async::AsyncMysqlConnection;
use dispatch_core::listing::{Ordering as ListOrdering, Window};
use dispatch_core::reads::shared::{SharedRead, SharedReads};
use dispatch_core::tasks::reads::{TaskPage, TaskPageKey};
use dispatch_core::tasks::TaskFilter;
use dispatch_shared::models::TaskRow;
use dispatch_tests::Calls;
use dispatch_tests::TestApp;
use serde_json::json;
use uuid::Uuid;

/// Counts the reads that reach MySQL; otherwise the task page read.
struct CountedPages;

static READS: AtomicUsize = AtomicUsize::new(0);

impl SharedRead for CountedPages {
    type Key = TaskPageKey;
    type Answer = (Vec<TaskRow>, i64);
    const WHAT: &'static str = "counted task page";

    async fn read(
        conn: &mut AsyncMysqlConnection,
        key: &TaskPageKey,
    ) -> QueryResult<(Vec<TaskRow>, i64)> {
        READS.fetch_add(1, Ordering::SeqCst);
        TaskPage::read(conn, key).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_pages_asked_together_share_a_read_and_unequal_ones_do_not() {
    let app = TestApp::spawn().await;
    let users = app.users("page_sharer_", 2).await;
    for (n, user) in users.iter().enumerate() {
        for i in 0..=n {
            app.create_task(user, json!({"title": format!("task {i}")})).await;
        }
    }
    let db = dispatch_shared::db::build_pool(&app.settings().database_url, 4);
    let pages = SharedReads::<CountedPages>::spawn(db, 1);
    let key = |user: &dispatch_tests::TestUser| TaskPageKey {
        owner: Uuid::parse_str(&user.id).expect("a user id"),
        filter: TaskFilter::default(),
        ordering: ListOrdering::default(),
        window: Window { offset: 0, limit: 20 },
    };

    let asked: Vec<_> = (0..24).flat_map(|_| users.iter()).collect();
    let answers = futures::future::join_all(asked.iter().map(|user| pages.read(key(user)))).await;
    for (user, answer) in asked.iter().zip(answers) {
        let (rows, count) = answer.expect("a page");
        let own = users.iter().position(|u| u.id == user.id).expect("a user") as i64 + 1;
        assert_eq!(count, own, "each user's own count");
        assert_eq!(rows.len() as i64, own);
        assert!(rows.iter().all(|r| r.owner_id.0.to_string() == user.id));
    }
    // One read each would be 48; with one read at a time, every request that arrives
    // while it runs joins the next read of its key.
    let reads = READS.load(Ordering::SeqCst);
    assert!((2..asked.len() / 2).contains(&reads), "{reads} reads for {} requests", asked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_after_a_create_shows_it_while_equal_lists_run() {
    let app = TestApp::spawn().await;
    let user = app.user("page_writer").await;
    let path = "/api/v1/tasks/?page_size=100";
    let stop = std::sync::atomic::AtomicBool::new(false);
    // Eight clients keep asking for the same page, so every list below has equal ones
    // waiting or running beside it.
    let readers = futures::future::join_all((0..8).map(|_| async {
        let mut lists = 0;
        while !stop.load(Ordering::SeqCst) {
            let (status, body) = app.read(path, &user.token).await;
            assert_eq!(status, 200, "{body}");
            lists += 1;
        }
        lists
    }));
    let writer = async {
        for i in 0..30 {
            let task = app.create_task(&user, json!({"title": format!("written {i}")})).await;
            let (status, page) = app.read(path, &user.token).await;
            assert_eq!(status, 200, "{page}");
            assert_eq!(page["count"], i + 1, "{page}");
            assert!(
                page["results"].as_array().expect("results").iter().any(|t| t["id"] == task["id"]),
                "task {i} missing from the list read after its 201: {page}"
            );
        }
        stop.store(true, Ordering::SeqCst);
    };
    let (lists, ()) = futures::future::join(readers, writer).await;
    assert!(lists.iter().all(|&n| n > 0), "every reader listed: {lists:?}");
}
