//! The job pipeline's writes, and the list of a user's tasks in its usual shapes, stay
//! prepared on their connection: after a statement's first run, running it again costs
//! MariaDB no new prepare (one round trip fewer per statement).

use diesel::QueryableByName;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl};
use dispatch_core::accounts::registration;
use dispatch_shared::db::compound::Compound;
use dispatch_shared::db::id::Id;
use dispatch_shared::domain::{Ordering, TaskStatus};
use dispatch_shared::jobs::register_user::RegisterUserPayload;
use dispatch_shared::jobs::JobKind;
use dispatch_shared::models::{now_naive, JobRow, NewUser, TaskRow};
use dispatch_shared::repo::listing::Window;
use dispatch_shared::repo::tasks::TaskFilter;
use dispatch_shared::repo::{jobs, tasks, users};
use dispatch_tests::env::TestEnv;
use dispatch_tests::queued::{self, UNUSED_HASH};
use std::time::Duration;
use uuid::Uuid;

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = Value)]
    value: String,
}

/// This connection's count of `name` (`SHOW SESSION STATUS`). The read is itself a one-off
/// prepared statement, and counted.
async fn session_counter(conn: &mut AsyncMysqlConnection, name: &str) -> i64 {
    let row: Counter = diesel::sql_query(format!("SHOW SESSION STATUS LIKE '{name}'"))
        .get_result(conn)
        .await
        .expect("session status");
    row.value.parse::<i64>().expect("a count")
}

/// Statements this connection has prepared so far, not counting the read itself.
async fn prepares_before(conn: &mut AsyncMysqlConnection) -> i64 {
    session_counter(conn, "Com_stmt_prepare").await - 1
}

fn new_user(id: Uuid, now: chrono::NaiveDateTime) -> NewUser {
    let name = format!("kp_{}", &id.simple().to_string()[..10]);
    NewUser {
        id: Id(id),
        username: name.clone(),
        email: format!("{name}@example.com"),
        first_name: String::new(),
        last_name: String::new(),
        password_hash: UNUSED_HASH.into(),
        is_active: true,
        is_superuser: false,
        date_joined: now,
        last_updated: now,
        last_login: None,
    }
}

/// One registration's statements as the API and the worker make them (both ways a worker
/// takes a job), plus a task's.
async fn one_round(conn: &mut AsyncMysqlConnection) {
    let now = now_naive();
    let user_id = Uuid::new_v4();
    let job = jobs::new_job(JobKind::RegisterUser, None, Some("{}".into()), None);
    jobs::insert(conn, &job).await.expect("job insert");
    let job_id = job.id.0;
    let locked = jobs::lock_for_run(conn, &[job_id.to_string()]).await.expect("job lock");
    assert_eq!(locked.len(), 1, "the job");
    assert!(jobs::claim(conn, job_id, Duration::from_secs(30)).await.expect("claim"));
    jobs::renew_lease(conn, job_id, Duration::from_secs(30)).await.expect("renew");
    users::insert(conn, &new_user(user_id, now)).await.expect("user insert");
    let row = jobs::find(conn, job_id).await.expect("job read").expect("the job");
    let finished = row.succeeded(&serde_json::json!({"id": user_id}), now_naive());
    assert!(jobs::finish(conn, &finished).await.expect("finish"));
    // A worker's compound statements (a registration's writes and the outcomes in one round
    // trip, as `registration::first_run` builds them): one job alone, then two that both
    // sign in.
    for signing_in in [vec![true], vec![true, true]] {
        let payloads: Vec<RegisterUserPayload> = signing_in.into_iter().map(payload).collect();
        let (_, mut writes) = registration::first_run(&payloads);
        writes.push(jobs::finishing(queued_and_finished(conn, payloads.len()).await));
        Compound::of(writes).execute(conn).await.expect("a job transaction's compound statement");
    }
    let task = TaskRow {
        id: Id::random(),
        owner_id: Id(user_id),
        title: "a task".into(),
        description: String::new(),
        status_task: TaskStatus::ToDo.as_str().to_owned(),
        date_created: now,
        last_updated: now,
    };
    tasks::insert_many(conn, std::slice::from_ref(&task)).await.expect("task insert");
    let changes = tasks::TaskChanges {
        title: Some("renamed".into()),
        description: None,
        status_task: None,
        last_updated: now_naive(),
    };
    assert!(tasks::update(conn, user_id, task.id.0, &changes).await.expect("task update"));
    // A list in its usual shapes: the default ordering, with no filter or one.
    let by_status = TaskFilter { status: Some(TaskStatus::ToDo), search: None };
    for filter in [TaskFilter::default(), by_status] {
        let (page, count) = tasks::list(conn, user_id, &filter, &Ordering::default(), WINDOW)
            .await
            .expect("task list");
        assert_eq!((page.len(), count), (1, 1), "the user's one task");
    }
}

/// A registration's payload, for a request that waits (and signs in) or not.
fn payload(signs_in: bool) -> RegisterUserPayload {
    let name = format!("kp_{}", &Uuid::new_v4().simple().to_string()[..10]);
    let session = signs_in.then(queued::first_session);
    queued::payload(&name, &format!("{name}@example.com"), UNUSED_HASH, session)
}

/// `n` queued registration jobs, stored, and their rows as a run that succeeded leaves them.
async fn queued_and_finished(conn: &mut AsyncMysqlConnection, n: usize) -> Vec<JobRow> {
    let mut rows = Vec::with_capacity(n);
    for _ in 0..n {
        let job = jobs::new_job(JobKind::RegisterUser, None, Some("{}".into()), None);
        jobs::insert(conn, &job).await.expect("job insert");
        let row = jobs::find(conn, job.id.0).await.expect("job read").expect("the job");
        rows.push(row.succeeded(&serde_json::json!({}), now_naive()));
    }
    rows
}

const WINDOW: Window = Window { offset: 0, limit: 20 };

#[tokio::test]
async fn pipeline_writes_are_prepared_once_per_connection() {
    let env = TestEnv::new();
    let mut conn = env.migrated_connection().await;

    let start = prepares_before(&mut conn).await;
    one_round(&mut conn).await;
    let after_first = prepares_before(&mut conn).await;
    one_round(&mut conn).await;
    let after_second = prepares_before(&mut conn).await;

    // The read between the rounds is one prepare of its own.
    let first = after_first - start - 1;
    let second = after_second - after_first - 1;
    assert!(first >= 8, "the first round prepares its statements ({first})");
    assert_eq!(second, 0, "the second round prepared {second} statements again");
}

/// A batch of registrations in which only some sign in is a compound statement of a shape of
/// its own, prepared for its run and closed, so that a connection keeps two shapes per batch
/// size whatever mix of requests the batches hold.
#[tokio::test]
async fn a_batch_in_which_only_some_sign_in_is_closed_after_its_run() {
    let env = TestEnv::new();
    let mut conn = env.migrated_connection().await;
    let prepared = session_counter(&mut conn, "Com_stmt_prepare").await;
    let closed = session_counter(&mut conn, "Com_stmt_close").await;
    for _ in 0..3 {
        let (users, writes) = registration::first_run(&[payload(true), payload(false)]);
        assert_eq!(users.len(), 2);
        Compound::of(writes).execute(&mut conn).await.expect("the batch's writes");
    }
    let prepared = session_counter(&mut conn, "Com_stmt_prepare").await - prepared;
    let closed = session_counter(&mut conn, "Com_stmt_close").await - closed;
    // Each counter read is itself a one-off statement, prepared and then closed.
    assert!(prepared >= 5, "each run prepares its compound statement again ({prepared})");
    assert!(closed >= 3, "each run's compound statement is closed ({closed})");
}

/// A list shape the client picks beyond the usual ones (here an ordering of two fields) is
/// prepared for each run and closed after it, so that no client can fill the connections'
/// statement caches, and MariaDB's statement limit, with every combination of sorts and
/// filters.
#[tokio::test]
async fn unusual_list_shapes_are_closed_after_each_run() {
    let env = TestEnv::new();
    let mut conn = env.migrated_connection().await;
    let owner = Uuid::new_v4();
    users::insert(&mut conn, &new_user(owner, now_naive())).await.expect("user insert");
    let ordering = Ordering::parse("title,-date_created").expect("an ordering");
    let filter = TaskFilter::default();

    let prepared = session_counter(&mut conn, "Com_stmt_prepare").await;
    let closed = session_counter(&mut conn, "Com_stmt_close").await;
    for _ in 0..3 {
        let (page, count) =
            tasks::list(&mut conn, owner, &filter, &ordering, WINDOW).await.expect("task list");
        assert_eq!((page.len(), count), (0, 0));
    }
    let prepared = session_counter(&mut conn, "Com_stmt_prepare").await - prepared;
    let closed = session_counter(&mut conn, "Com_stmt_close").await - closed;
    // Each counter read is itself a one-off statement, prepared and then closed.
    assert!(prepared >= 5, "each run prepares the list again ({prepared})");
    assert!(closed >= 3, "each run's statement is closed ({closed})");
}
