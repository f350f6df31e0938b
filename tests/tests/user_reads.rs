//! With the user cache off, every authenticated request reads its user from MySQL, and the
//! reads that arrive together go to it as one batch. Each request must still be answered
//! with its own user, and a user deleted meanwhile must lose access at once; and reads that
//! arrive together must share statements.

use dispatch_tests::Calls;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::QueryResult;
use diesel_async::AsyncMysqlConnection;
use dispatch_core::reads::batched::{BatchedReads, PointRead};
use dispatch_core::reads::users::UserById;
use dispatch_shared::models::UserRow;
use dispatch_shared::repo::point_reads;
use dispatch_tests::{TestApp, TestEnv};
use reqwest::Method;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_user_reads_answer_each_request_with_its_own_user() {
    let mut env = TestEnv::new();
    env.set("DISPATCH_USER_CACHE_TTL", "0");
    let app = TestApp::spawn_env(env, true).await;
    let admin = app.admin("root").await;
    let users = app.users("batch_reader_", 12).await;
    let deleted = &users[0];
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/admin/users/{}/", deleted.id),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // Four reads per user, all at once: more than one batch's worth, mixed across users.
    let app = &app;
    let reads = (0..4).flat_map(|_| users.iter()).map(|user| async move {
        let answer = app.profile(&user.token).await;
        (user, answer)
    });
    for (user, (status, body)) in futures::future::join_all(reads).await {
        if user.id == deleted.id {
            assert_eq!(status, 401, "{body}");
        } else {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["id"], user.id.as_str(), "{body}");
            assert_eq!(body["username"], user.username.as_str(), "{body}");
        }
    }
}

/// Counts the statements its reads cost; otherwise the users' own point read.
struct CountedUserReads;

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

impl PointRead for CountedUserReads {
    type Key = Uuid;
    type Row = UserRow;
    const WHAT: &'static str = "counted user";

    fn row_id(key: &Uuid) -> String {
        UserById::row_id(key)
    }

    async fn find_many(
        conn: &mut AsyncMysqlConnection,
        ids: &[String],
    ) -> QueryResult<Vec<UserRow>> {
        STATEMENTS.fetch_add(ids.len().div_ceil(point_reads::WIDTH), Ordering::SeqCst);
        UserById::find_many(conn, ids).await
    }

    fn answers(row: &UserRow, key: &Uuid) -> bool {
        UserById::answers(row, key)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_that_arrive_together_share_statements() {
    let app = TestApp::spawn().await;
    let users = app.users("shared_read_", 3).await;
    let db = dispatch_shared::db::build_pool(&app.settings().database_url, 4);
    let reads = BatchedReads::<CountedUserReads>::spawn(db, 4);

    let keys: Vec<Uuid> = (0..16)
        .flat_map(|_| users.iter())
        .map(|user| Uuid::parse_str(&user.id).expect("a user id"))
        .collect();
    let found = futures::future::join_all(keys.iter().map(|key| reads.find(*key))).await;
    for (key, row) in keys.iter().zip(found) {
        let row = row.expect("a read").expect("the user");
        assert_eq!(row.id.0, *key);
    }
    // One statement per read would be 48; batches of up to 8 take at least 6.
    let statements = STATEMENTS.load(Ordering::SeqCst);
    assert!(statements < keys.len() / 2, "{statements} statements for {} reads", keys.len());
}
