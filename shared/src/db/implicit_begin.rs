//! Transactions without a `BEGIN`: on a connection whose session has `autocommit` off
//! (`Commits::Explicit`), the first statement opens the transaction, so a transaction costs
//! its statements and a `COMMIT`, one round trip fewer than diesel-async's `transaction`.
//! The job pipeline's shared transactions run this way: each is a handful of statements,
//! and each round trip wakes the worker and MariaDB once more.
//!
//! diesel-async does not know of these transactions, so its own check cannot keep a
//! connection with one open out of the pool; the connection's `StatementWatch` carries a
//! mark instead, set before the first statement and cleared only once the `COMMIT` or
//! `ROLLBACK` has been answered. A future dropped in between leaves the mark, and the pool
//! closes the connection instead of lending it with the transaction open; the server rolls
//! back whatever the transaction had not committed.
//!
//! The work must not call diesel-async's `transaction` on the connection: its `BEGIN` would
//! commit what the work had written so far.

use diesel_async::{AsyncMysqlConnection, RunQueryDsl, SimpleAsyncConnection};

use super::compound::{Compound, Statement};
use super::keep_prepared::keep_prepared;
use super::lending::StatementWatch;

/// Runs `work` as one transaction on `conn`, a connection of a `Commits::Explicit` pool:
/// commits if it succeeds, rolls back if it fails. A connection with a transaction still
/// open (an earlier one dropped midway or not rolled back) refuses with
/// `BrokenTransactionManager`, as diesel-async's `transaction` does.
pub async fn transaction<T, E, F>(conn: &mut AsyncMysqlConnection, work: F) -> Result<T, E>
where
    F: AsyncFnOnce(&mut AsyncMysqlConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    transaction_ending_with(conn, async |conn| Ok((work(conn).await?, Vec::new()))).await
}

/// `transaction`, whose work hands back the statements that end it unsent: they go to the
/// database together with the `COMMIT`, as one compound statement (`compound::Compound`).
/// The transaction's last writes and its commit cost one round trip however many writes
/// there are. If one of them fails, MariaDB runs nothing after it, the `COMMIT` included:
/// the transaction rolls back and the error is returned.
pub async fn transaction_ending_with<T, E, F>(
    conn: &mut AsyncMysqlConnection,
    work: F,
) -> Result<T, E>
where
    F: AsyncFnOnce(&mut AsyncMysqlConnection) -> Result<(T, Vec<Statement<'static>>), E>,
    E: From<diesel::result::Error>,
{
    // One whose ROLLBACK failed: its statements would join that transaction.
    if StatementWatch::left_unfinished(conn) {
        return Err(diesel::result::Error::BrokenTransactionManager.into());
    }
    StatementWatch::mark_transaction(conn, true);
    let ended = match work(&mut *conn).await {
        Ok((value, ending)) => match end(conn, ending).await {
            Ok(()) => Ok(value),
            Err(e) => Err(E::from(e)),
        },
        Err(e) => Err(e),
    };
    match ended {
        Ok(value) => {
            StatementWatch::mark_transaction(conn, false);
            Ok(value)
        }
        Err(e) => {
            // A failed ROLLBACK leaves the mark: the pool closes the connection.
            if conn.batch_execute("ROLLBACK").await.is_ok() {
                StatementWatch::mark_transaction(conn, false);
            }
            Err(e)
        }
    }
}

/// Sends `ending` and the `COMMIT` as one compound statement (the `COMMIT` alone when there
/// is no ending). A client that goes away while MariaDB runs it leaves the outcome to the
/// server, whole or not at all, as one that goes away while a lone `COMMIT` is answered does.
async fn end(
    conn: &mut AsyncMysqlConnection,
    mut ending: Vec<Statement<'static>>,
) -> diesel::QueryResult<()> {
    if ending.is_empty() {
        return conn.batch_execute("COMMIT").await;
    }
    ending.push(Statement::new(keep_prepared(diesel::sql_query("COMMIT"))));
    Compound::of(ending).execute(&mut *conn).await.map(drop)
}
