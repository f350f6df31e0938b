//! Transactions that begin with their first statement (`db::implicit_begin`), as the
//! worker's shared job transactions run: they commit or roll back as a whole, send no
//! `BEGIN`, and a connection whose transaction was dropped midway is never lent again. The
//! statements that end one go in one round trip before its `COMMIT`, and a failure among them
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

    // Counted after the counter's own read (one statement).
    let before = session_count(&mut conn, "COM_STMT_EXECUTE").await + 1;
    let committed: Result<(), diesel::result::Error> =
        implicit_begin::transaction_ending_with(&mut conn, async |conn| {
            conn.batch_execute("INSERT INTO marks VALUES (1)").await?;
            Ok(((), vec![mark(2), mark(3)]))
        })
        .await;
    assert!(committed.is_ok(), "{committed:?}");
    let executed = session_count(&mut conn, "COM_STMT_EXECUTE").await - before;
    assert_eq!(executed, 1, "the ending was {executed} statements");
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

/// An ending dropped while MariaDB runs it (here, waiting for a row another transaction
/// holds) leaves its connection out of the pool. MariaDB finishes the compound statement on
/// its own, but the `COMMIT` was never sent: the transaction rolls back when the server ends
/// the closed connection.
#[tokio::test]
async fn an_ending_dropped_midway_never_reaches_the_next_checkout_nor_commits() {
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

    // Mark 2 let go: the dropped ending's inserts both succeed on the server, and then
    // nothing commits them.
    holder.batch_execute("ROLLBACK").await.expect("mark 2 released");
    let gone = format!(
        "SELECT CAST(COUNT(*) AS SIGNED) AS n FROM information_schema.PROCESSLIST WHERE ID = {first}"
    );
    dispatch_tests::wait_until(std::time::Duration::from_secs(10), "its session ended", || async {
        let mut conn = pool.get().await.expect("a connection");
        (single(&mut conn, &gone).await == 0).then_some(())
    })
    .await;
    assert_eq!(numbers(&mut holder).await, Vec::<i64>::new());
}
