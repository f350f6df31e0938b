//! Registration jobs that a worker takes together share one transaction. Sharing must not
//! change any job's outcome: a name or email taken by a job of the same transaction fails
//! only that job, and a job whose statement the database refuses for another reason rolls
//! the shared transaction back without holding back the jobs that were in it. A job refused
//! by a user committed after its transaction's snapshot names the key that refused it.
//!
//! A registration's writes go to the database with its outcome and the commit, in one
//! compound statement: a job refused there leaves nothing of its own but its failure.

use std::time::Duration;

use diesel_async::AsyncConnection;
use dispatch_core::accounts::registration::{complete, CompletionError};
use dispatch_core::accounts::Taken;
use dispatch_shared::jobs::error_codes;
use dispatch_shared::jobs::register_user::RegisterUserPayload;
use dispatch_shared::repo::{jobs, refresh_tokens, users};
use dispatch_tests::queued::{self, Registrations, UNUSED_HASH};
use dispatch_tests::TestApp;
use uuid::Uuid;

const MEMBERS: usize = 100;

struct Rival {
    /// The job it competes with for a name or an email.
    original: Uuid,
    rival: Uuid,
    code: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_sharing_a_transaction_keep_their_own_outcomes() {
    let mut app = TestApp::spawn_without_worker().await;
    let registrations = Registrations::open(&app).await;
    let mut originals = Vec::new();
    let mut rivals = Vec::new();
    for n in 0..MEMBERS {
        let original =
            registrations.queue(&format!("member{n}"), &format!("m{n}@example.com")).await;
        originals.push(original);
        // Queued right behind the job they compete with, so they are fetched together.
        if n % 10 == 3 {
            let rival =
                registrations.queue(&format!("member{n}"), &format!("r{n}@example.com")).await;
            rivals.push(Rival { original, rival, code: error_codes::USERNAME_TAKEN });
        }
        if n % 10 == 7 {
            let rival =
                registrations.queue(&format!("rival{n}"), &format!("m{n}@example.com")).await;
            rivals.push(Rival { original, rival, code: error_codes::EMAIL_TAKEN });
        }
    }
    // The database refuses this name (longer than its column), which rolls back whatever
    // transaction it is in.
    let refused = registrations.queue(&"x".repeat(200), "long@example.com").await;
    for n in MEMBERS..MEMBERS + 20 {
        originals
            .push(registrations.queue(&format!("member{n}"), &format!("m{n}@example.com")).await);
    }

    app.start_worker();
    let finished = originals.len() + rivals.len();
    let env = &app.env;
    env.await_rows("jobs", "status IN ('succeeded', 'failed')", finished, Duration::from_secs(60))
        .await;

    let mut conn = env.connection().await;
    let mut status = async |id: Uuid| {
        let row = jobs::find(&mut conn, id).await.expect("a read").expect("the job row");
        (row.status, row.error_code)
    };
    let mut winners = 0;
    for rival in &rivals {
        let outcomes = [status(rival.original).await, status(rival.rival).await];
        let won: Vec<_> = outcomes.iter().filter(|(s, _)| s == "succeeded").collect();
        let lost: Vec<_> = outcomes.iter().filter(|(s, _)| s == "failed").collect();
        assert_eq!((won.len(), lost.len()), (1, 1), "one of two rivals wins: {outcomes:?}");
        assert_eq!(lost[0].1.as_deref(), Some(rival.code), "{outcomes:?}");
        winners += 1;
    }
    let rivalled: Vec<Uuid> = rivals.iter().map(|r| r.original).collect();
    for id in originals.iter().filter(|id| !rivalled.contains(id)) {
        assert_eq!(status(*id).await, ("succeeded".to_owned(), None), "job {id}");
    }
    let (refused_status, _) = status(refused).await;
    assert_ne!(refused_status, "succeeded", "the refused job never succeeds");
    assert_eq!(
        env.count_matching("users", "username LIKE 'member%' OR username LIKE 'rival%'").await,
        (originals.len() - rivalled.len() + winners) as i64,
        "one user per successful job"
    );
    // The outcomes, written back in one statement, are counted as one at a time would be.
    assert_eq!(
        succeeded_counted(&mut conn).await,
        env.count_matching("jobs", "status = 'succeeded'").await,
        "the per-minute counts of succeeded jobs"
    );
}

async fn succeeded_counted(conn: &mut diesel_async::AsyncMysqlConnection) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Total {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        jobs: i64,
    }
    let sql = "SELECT CAST(COALESCE(SUM(jobs), 0) AS SIGNED) AS jobs FROM job_finish_minutes
               WHERE status = 'succeeded'";
    let total: Total = diesel::sql_query(sql).get_result(conn).await.expect("the counts");
    total.jobs
}

fn registration(username: &str, email: &str) -> RegisterUserPayload {
    queued::payload(username, email, UNUSED_HASH, None)
}

/// A transaction reads from the snapshot its first read took. A registration refused by a
/// user committed after that (by a concurrent transaction, as in a shared batch) cannot see
/// that user, and still fails naming the key that refused it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_by_a_user_newer_than_the_snapshot_names_the_key() {
    let env = dispatch_tests::TestEnv::new();
    let mut other = env.migrated_connection().await;
    let mut conn = env.connection().await;
    conn.begin_test_transaction().await.expect("a transaction");
    // The snapshot starts here, before the rival's commit.
    assert!(users::find(&mut conn, Uuid::new_v4()).await.expect("a read").is_none());
    complete(&mut other, &registration("alice", "alice@example.com")).await.expect("committed");

    let refused = complete(&mut conn, &registration("alice", "bob@example.com")).await;
    assert!(
        matches!(refused, Err(CompletionError::Taken(Taken { username: true, email: false }))),
        "{refused:?}"
    );
    let refused = complete(&mut conn, &registration("carol", "alice@example.com")).await;
    assert!(
        matches!(refused, Err(CompletionError::Taken(Taken { username: false, email: true }))),
        "{refused:?}"
    );
}

/// One job at a time (each alone in its transaction): the one whose name is free writes its
/// user and its session with its outcome; the one whose name was taken after the request
/// was checked fails with the name, and its session, user and outcome are not half written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_registration_writes_its_user_and_session_with_its_outcome_or_nothing() {
    let mut app = TestApp::spawn_without_worker().await;
    let mut conn = app.env.connection().await;
    complete(&mut conn, &registration("holder", "holder@example.com")).await.expect("the holder");
    let registrations = Registrations::open(&app).await;
    app.start_worker();
    let env = &app.env;

    let (free, refused) = (queued::first_session(), queued::first_session());
    let succeeded = registrations.queue_signing_in("newcomer", "new@example.com", free).await;
    env.await_rows("jobs", "status IN ('succeeded', 'failed')", 1, Duration::from_secs(30)).await;
    let failed = registrations.queue_signing_in("holder", "other@example.com", refused).await;
    env.await_rows("jobs", "status IN ('succeeded', 'failed')", 2, Duration::from_secs(30)).await;

    let row = jobs::find(&mut conn, succeeded).await.expect("a read").expect("the job row");
    assert_eq!((row.status.as_str(), row.attempts), ("succeeded", 1), "{row:?}");
    let user = users::find_by_login(&mut conn, "newcomer").await.expect("a read").expect("a user");
    let token = refresh_tokens::find(&mut conn, free.refresh_id).await.expect("a read");
    assert_eq!(token.map(|t| t.user_id), Some(user.id.0.to_string()), "the session's row");

    let row = jobs::find(&mut conn, failed).await.expect("a read").expect("the job row");
    assert_eq!(row.status, "failed", "{row:?}");
    assert_eq!(row.error_code.as_deref(), Some(error_codes::USERNAME_TAKEN));
    assert!(refresh_tokens::find(&mut conn, refused.refresh_id).await.expect("a read").is_none());
    assert_eq!(env.count_matching("users", "email = 'other@example.com'").await, 0);
    assert_eq!(env.count_matching("users", "username = 'holder'").await, 1);
}
