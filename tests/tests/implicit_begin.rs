//! Transactions that begin with their first statement (`db::implicit_begin`), as the
//! worker's shared job transactions run: they commit or roll back as a whole, send no
//! `BEGIN`, and a connection whose transaction was dropped midway is never lent again. The
//! statements that end one go in one round trip with its `COMMIT`, and a failure among them
//! rolls back all of the transaction.

use diesel::sql_types::Integer;
use diesel::QueryableByName;
use diesel_async::{AsyncMysqlConnection, RunQueryDsl, SimpleAsyncConnection};
use dispatch_shared::db::compound::Statement;
use dispatch_shared::db::{self, implicit_begin, SessionSettings};

#[derive(QueryableByName, Debug, PartialEq)]
struct Number {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn numbers(conn: &mut AsyncMysqlConnection) -> Vec<i64> {
    diesel::sql_query("SELECT CAST(n AS SIGNED) AS n FROM marks ORDER BY n")
        .load::<Number>(conn)
        .await
        .expect("the marks")
        .into_iter()
        .map(|row| row.n)
        .collect()
}

async fn single(conn: &mut AsyncMysqlConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Number>(conn).await.expect(sql).n
}

/// A test database with a table of numbers, and a connection that commits each statement.
async fn database() -> (dispatch_tests::TestEnv, db::DbPool) {
    let env = dispatch_tests::TestEnv::new();
    db::migrate(&env.database_url).await.expect("test database");
    let plain = db::build_pool(&env.database_url, 1);
    let mut conn = plain.get().await.expect("a connection");
    conn.batch_execute("CREATE TABLE marks (n INT PRIMARY KEY) ENGINE=InnoDB")
        .await
        .expect("the marks table");
    drop(conn);
    (env, plain)
}

#[tokio::test]
async fn a_transaction_commits_or_rolls_back_as_a_whole_without_a_begin() {
    let (env, plain) = database().await;
    let pool = db::build_pool_with(&env.database_url, 1, SessionSettings::EXPLICIT_COMMITS);
    let mut conn = pool.get().await.expect("a connection");

    let committed: Result<(), diesel::result::Error> =
        implicit_begin::transaction(&mut conn, async |conn| {
            conn.batch_execute("INSERT INTO marks VALUES (1)").await?;
            conn.batch_execute("INSERT INTO marks VALUES (2)").await
        })
        .await;
    assert!(committed.is_ok(), "{committed:?}");
    let failed: Result<(), diesel::result::Error> =
        implicit_begin::transaction(&mut conn, async |conn| {
            conn.batch_execute("INSERT INTO marks VALUES (3)").await?;
            // A duplicate key: the whole transaction rolls back, 3 with it.
            conn.batch_execute("INSERT INTO marks VALUES (1)").await
        })
        .await;
    assert!(failed.is_err(), "the duplicate was taken");

    assert_eq!(single(&mut conn, "SELECT CAST(@@in_transaction AS SIGNED) AS n").await, 0);
    let begins = single(
        &mut conn,
        "SELECT CAST(VARIABLE_VALUE AS SIGNED) AS n FROM information_schema.SESSION_STATUS \
         WHERE VARIABLE_NAME = 'COM_BEGIN'",
    )
    .await;
    assert_eq!(begins, 0, "a transaction sent BEGIN");
    drop(conn);
    let mut other = plain.get().await.expect("a connection");
    assert_eq!(numbers(&mut other).await, vec![1, 2]);
}

#[tokio::test]
async fn a_transaction_dropped_midway_never_reaches_the_next_checkout() {
    let (env, plain) = database().await;
    // One connection, so every checkout would get the one the dropped transaction used.
    let pool = db::build_pool_with(&env.database_url, 1, SessionSettings::EXPLICIT_COMMITS);
    for round in 0..3_i64 {
        let first = {
            let mut conn = pool.get().await.expect("a connection");
            let id = single(&mut conn, "SELECT CAST(CONNECTION_ID() AS SIGNED) AS n").await;
            let stalled = implicit_begin::transaction(&mut conn, async |conn| {
                conn.batch_execute(&format!("INSERT INTO marks VALUES ({})", 100 + round)).await?;
                std::future::pending::<Result<(), diesel::result::Error>>().await
            });
            let dropped =
                tokio::time::timeout(std::time::Duration::from_millis(100), stalled).await;
            assert!(dropped.is_err(), "the stalled transaction ended");
            id
        };
        let mut conn = pool.get().await.expect("a connection");
        let next = single(&mut conn, "SELECT CAST(CONNECTION_ID() AS SIGNED) AS n").await;
        assert_ne!(next, first, "round {round}: the connection was lent again");
        assert_eq!(single(&mut conn, "SELECT CAST(@@in_transaction AS SIGNED) AS n").await, 0);
        let mut other = plain.get().await.expect("a connection");
        assert_eq!(numbers(&mut other).await, Vec::<i64>::new(), "round {round}");
    }
}

#[tokio::test]
async fn a_connection_whose_transaction_was_left_open_refuses_the_next() {
    let (env, plain) = database().await;
    let pool = db::build_pool_with(&env.database_url, 1, SessionSettings::EXPLICIT_COMMITS);
    let mut conn = pool.get().await.expect("a connection");
    let stalled = implicit_begin::transaction(&mut conn, async |conn| {
        conn.batch_execute("INSERT INTO marks VALUES (1)").await?;
        std::future::pending::<Result<(), diesel::result::Error>>().await
    });
    let dropped = tokio::time::timeout(std::time::Duration::from_millis(100), stalled).await;
    assert!(dropped.is_err(), "the stalled transaction ended");

    // Its statements would run inside the open transaction, and its COMMIT commit both.
    let next: Result<(), diesel::result::Error> =
        implicit_begin::transaction(&mut conn, async |conn| {
            conn.batch_execute("INSERT INTO marks VALUES (2)").await
        })
        .await;
    assert!(
        matches!(next, Err(diesel::result::Error::BrokenTransactionManager)),
        "the next transaction ran: {next:?}"
    );
    drop(conn);
    let mut other = plain.get().await.expect("a connection");
    assert_eq!(numbers(&mut other).await, Vec::<i64>::new());
}

/// The insert of mark `n`, as a statement of a transaction's ending.
fn mark(n: i32) -> Statement<'static> {
    Statement::new(diesel::sql_query("INSERT INTO marks VALUES (?)").bind::<Integer, _>(n))
}

async fn session_count(conn: &mut AsyncMysqlConnection, name: &str) -> i64 {
    let sql = format!(
        "SELECT CAST(VARIABLE_VALUE AS SIGNED) AS n FROM information_schema.SESSION_STATUS \
         WHERE VARIABLE_NAME = '{name}'"
    );
    single(conn, &sql).await
}

#[tokio::test]
async fn the_statements_that_end_a_transaction_go_in_one_round_trip() {
    let (env, plain) = database().await;
    let pool = db::build_pool_with(&env.database_url, 1, SessionSettings::EXPLICIT_COMMITS);
    let mut conn = pool.get().await.expect("a connection");

    // Counted after the counters' own reads (one statement each).
    let questions = session_count(&mut conn, "QUESTIONS").await + 2;
    let executed = session_count(&mut conn, "COM_STMT_EXECUTE").await + 1;
    let committed: Result<(), diesel::result::Error> =
        implicit_begin::transaction_ending_with(&mut conn, async |conn| {
            conn.batch_execute("INSERT INTO marks VALUES (1)").await?;
            Ok(((), vec![mark(2), mark(3)]))
        })
        .await;
    assert!(committed.is_ok(), "{committed:?}");
    let executed = session_count(&mut conn, "COM_STMT_EXECUTE").await - executed;
    let questions = session_count(&mut conn, "QUESTIONS").await - 1 - questions;
    assert_eq!(executed, 1, "the ending was {executed} statements");
    assert_eq!(questions, 2, "the insert and the ending were {questions} round trips");
    assert_eq!(single(&mut conn, "SELECT CAST(@@in_transaction AS SIGNED) AS n").await, 0);

    // The duplicate ends the compound statement: 4, and 5 before it, roll back, and 6
    // after it never runs.
    let failed: Result<(), diesel::result::Error> =
        implicit_begin::transaction_ending_with(&mut conn, async |conn| {
            conn.batch_execute("INSERT INTO marks VALUES (4)").await?;
            Ok(((), vec![mark(5), mark(1), mark(6)]))
        })
        .await;
    assert!(
        matches!(
            failed,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        ),
        "{failed:?}"
    );
    assert_eq!(single(&mut conn, "SELECT CAST(@@in_transaction AS SIGNED) AS n").await, 0);
    let next: Result<(), diesel::result::Error> =
        implicit_begin::transaction_ending_with(&mut conn, async |_| Ok(((), vec![mark(7)]))).await;
    assert!(next.is_ok(), "the connection took the next transaction: {next:?}");
    drop(conn);
    let mut other = plain.get().await.expect("a connection");
    assert_eq!(numbers(&mut other).await, vec![1, 2, 3, 7]);
}

/// Drops a transaction's ending (marks 1 and 2, with the `COMMIT`) while MariaDB runs it,
/// waiting for mark 2, which another transaction holds, and checks that the connection is
/// not lent again. Then that other transaction ends with `holder_ends_with`, and once the
/// dropped connection's session is gone, the marks the table holds are returned.
async fn marks_after_a_dropped_ending(holder_ends_with: &str) -> Vec<i64> {
    let (env, plain) = database().await;
    let pool = db::build_pool_with(&env.database_url, 1, SessionSettings::EXPLICIT_COMMITS);
    let mut holder = plain.get().await.expect("a connection");
    holder.batch_execute("BEGIN; INSERT INTO marks VALUES (2)").await.expect("mark 2 held");

    let first = {
        let mut conn = pool.get().await.expect("a connection");
        let id = single(&mut conn, "SELECT CAST(CONNECTION_ID() AS SIGNED) AS n").await;
        let stalled = implicit_begin::transaction_ending_with(&mut conn, async |_| {
            Ok::<_, diesel::result::Error>(((), vec![mark(1), mark(2)]))
        });
        let dropped = tokio::time::timeout(std::time::Duration::from_millis(300), stalled).await;
        assert!(dropped.is_err(), "the ending did not wait for the held row");
        id
    };
    let mut conn = pool.get().await.expect("a connection");
    let next = single(&mut conn, "SELECT CAST(CONNECTION_ID() AS SIGNED) AS n").await;
    assert_ne!(next, first, "the connection was lent again");
    drop(conn);

    holder.batch_execute(holder_ends_with).await.expect("mark 2 let go");
    let gone = format!(
        "SELECT CAST(COUNT(*) AS SIGNED) AS n FROM information_schema.PROCESSLIST WHERE ID = {first}"
    );
    dispatch_tests::wait_until(std::time::Duration::from_secs(10), "its session ended", || async {
        let mut conn = pool.get().await.expect("a connection");
        (single(&mut conn, &gone).await == 0).then_some(())
    })
    .await;
    numbers(&mut holder).await
}

/// The row let go, MariaDB finishes the dropped ending on its own, its `COMMIT` included:
/// the transaction lands whole, as one whose lone `COMMIT` was dropped unanswered may.
#[tokio::test]
async fn an_ending_dropped_midway_never_reaches_the_next_checkout_and_lands_whole() {
    assert_eq!(marks_after_a_dropped_ending("ROLLBACK").await, vec![1, 2]);
}

/// The row committed by the other transaction, the dropped ending's mark 2 is a duplicate:
/// MariaDB stops there, before the `COMMIT`, and mark 1 goes with the closed session.
#[tokio::test]
async fn an_ending_dropped_midway_that_fails_commits_nothing() {
    assert_eq!(marks_after_a_dropped_ending("COMMIT").await, vec![2]);
}
