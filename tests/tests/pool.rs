//! The pool checks connections only when the database is in doubt; these tests show that
//! connections MySQL has dropped are still replaced, not handed out again and again.

use dispatch_tests::Calls;
use dispatch_tests::TestApp;

#[tokio::test]
async fn connections_killed_by_mysql_are_replaced_after_one_failure_at_most() {
    let app = TestApp::spawn().await;
    let user = app.user("pool_user").await;
    // Several requests at once, so the pool holds several connections.
    let reads = (0..8).map(|_| app.get_auth("/api/v1/tasks/", &user.token));
    for response in futures::future::join_all(reads).await {
        assert_eq!(response.status(), 200);
    }

    let killed = app.env.kill_connections().await;
    assert!(killed >= 2, "only {killed} connections to kill");

    // The first request may meet a dead connection (503, never a 500); from then on the
    // pool verifies what it hands out, so everything after succeeds.
    let mut failures = 0;
    for _ in 0..30 {
        let (status, body) = app.read("/api/v1/tasks/", &user.token).await;
        match status {
            200 => {}
            503 => failures += 1,
            other => panic!("{other}: {body}"),
        }
    }
    assert!(failures <= 1, "{failures} requests failed after the kill");
    app.create_task(&user, serde_json::json!({"title": "after the restart"})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_task_reads_on_killed_connections_answer_503_then_recover() {
    let app = TestApp::spawn().await;
    let user = app.user("pool_reader").await;
    let task = app.create_task(&user, serde_json::json!({"title": "read me"})).await;
    let path = format!("/api/v1/tasks/{}/", task["id"].as_str().unwrap());
    let round = || futures::future::join_all((0..16).map(|_| app.read(&path, &user.token)));
    for (status, body) in round().await {
        assert_eq!(status, 200, "{body}");
    }

    let killed = app.env.kill_connections().await;
    assert!(killed >= 1, "no connection to kill");
    // A batch that meets a dead connection fails every read in it with a 503 (never a 500);
    // the pool verifies connections from then on, so the next rounds all succeed.
    for (status, body) in round().await {
        assert!(status == 200 || status == 503, "{status}: {body}");
    }
    for _ in 0..2 {
        for (status, body) in round().await {
            assert_eq!(status, 200, "{body}");
            assert_eq!(body, task);
        }
    }
}

#[tokio::test]
async fn pooled_connections_end_transactions_left_idle() {
    use diesel::QueryableByName;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Timeout {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seconds: i64,
    }
    let app = TestApp::spawn().await;
    let pool = dispatch_shared::db::build_pool(&app.env.database_url, 1);
    let mut conn = pool.get().await.expect("a pooled connection");
    let timeout: Timeout =
        diesel::sql_query("SELECT CAST(@@session.idle_transaction_timeout AS SIGNED) AS seconds")
            .get_result(&mut *conn)
            .await
            .expect("the session's timeout");
    assert_eq!(timeout.seconds, i64::from(dispatch_shared::db::IDLE_TRANSACTION_TIMEOUT_SECS));
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Marker {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    marker: String,
}

/// A statement whose future is dropped while MariaDB is still working on it (a timeout, a
/// `select!` branch that lost, a client that hung up) leaves its answer on the socket. The
/// connection must not be lent again: the next checkout would read that answer as its own.
#[tokio::test]
async fn a_statement_dropped_in_flight_never_reaches_the_next_checkout() {
    use diesel_async::RunQueryDsl;
    let env = dispatch_tests::TestEnv::new();
    dispatch_shared::db::migrate(&env.database_url).await.expect("test database");
    // One connection, so every checkout would get the one the dropped statement used.
    let pool = dispatch_shared::db::build_pool(&env.database_url, 1);
    for round in 0..5_i64 {
        {
            let mut conn = pool.get().await.expect("a pooled connection");
            let slow =
                diesel::sql_query("SELECT CAST(SLEEP(0.2) AS SIGNED) AS n, 'stale' AS marker")
                    .load::<Marker>(&mut *conn);
            let dropped = tokio::time::timeout(std::time::Duration::from_millis(20), slow).await;
            assert!(dropped.is_err(), "the slow statement finished before its timeout");
        }
        let mut conn = pool.get().await.expect("a pooled connection");
        let fresh: Vec<Marker> =
            diesel::sql_query(format!("SELECT CAST({round} AS SIGNED) AS n, 'fresh' AS marker"))
                .load(&mut *conn)
                .await
                .unwrap_or_else(|e| panic!("round {round}: the next statement failed: {e}"));
        assert_eq!(
            fresh,
            vec![Marker { n: round, marker: "fresh".into() }],
            "round {round}: the next checkout read another statement's answer"
        );
    }
}
