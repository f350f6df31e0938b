//! How the pool lends connections: never one whose last statement did not finish.
//!
//! A future that runs a statement may be dropped at any `.await` (a timeout, a `select!`
//! branch that loses, a client that hangs up). If that happens after the statement was sent
//! and before its answer was read, the answer is still on the socket, and the next statement
//! on that connection reads it as its own: another request's rows, a row of the wrong shape,
//! a false "not found". mysql_async drains result sets that were *started* and then dropped;
//! the gap is the window between sending a command and reading its answer's header.
//!
//! diesel reports `StartQuery` before a statement is sent and `FinishQuery` once its answer
//! is read, so [`StatementWatch`], installed on every pooled connection, knows whether one
//! is unfinished. [`MysqlManager::has_broken`] asks it when the connection comes back: such
//! a connection is closed instead of returned, and the pool opens a fresh one. This costs
//! nothing on a healthy checkout (no round trip), and holds at every call site by
//! construction. Open transactions are already refused by diesel-async's own check, and
//! those it does not know of (`implicit_begin`) by the watch's own mark.

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, PoolError, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl, SimpleAsyncConnection};
use futures::FutureExt;

use super::liveness;

/// Seconds after which MariaDB ends a transaction whose client sent nothing more.
pub const IDLE_TRANSACTION_TIMEOUT_SECS: u32 = 30;

/// Watches every statement on one connection: whether one is unfinished, and whether one
/// failed in a way that puts the database in doubt (see `liveness`).
#[derive(Debug, Default)]
pub struct StatementWatch {
    unfinished: u32,
    /// A transaction diesel-async does not track (see `implicit_begin`) was opened and not
    /// yet committed or rolled back.
    transaction_open: bool,
}

impl StatementWatch {
    /// Whether a statement was started on `conn` and its answer never read, or a transaction
    /// opened outside diesel-async's tracking was left open. A connection without a watch
    /// (not made by this pool) is in doubt too.
    pub fn left_unfinished(conn: &mut AsyncMysqlConnection) -> bool {
        conn.instrumentation()
            .downcast_ref::<StatementWatch>()
            .is_none_or(|watch| watch.unfinished > 0 || watch.transaction_open)
    }

    /// Marks a transaction diesel-async does not track as open or ended on `conn`.
    pub(super) fn mark_transaction(conn: &mut AsyncMysqlConnection, open: bool) {
        if let Some(watch) = conn.instrumentation().downcast_mut::<StatementWatch>() {
            watch.transaction_open = open;
        }
    }
}

impl Instrumentation for StatementWatch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => self.unfinished += 1,
            InstrumentationEvent::FinishQuery { error, .. } => {
                self.unfinished = self.unfinished.saturating_sub(1);
                if error.is_some_and(liveness::is_connection_failure) {
                    liveness::connection_failed();
                }
            }
            _ => {}
        }
    }
}

/// bb8's manager for MySQL connections: diesel-async's, plus the unfinished-statement check
/// on return.
pub struct MysqlManager {
    inner: AsyncDieselConnectionManager<AsyncMysqlConnection>,
}

/// How a connection's statements are committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commits {
    /// Each statement outside `transaction` commits on its own (the server's default).
    EachStatement,
    /// The session's `autocommit` is off: a transaction begins with the first statement and
    /// lasts until a `COMMIT` or `ROLLBACK` (`implicit_begin`).
    Explicit,
}

/// What a statement sees of other transactions' rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// The server's default, `REPEATABLE READ`. The rows an `INSERT … SELECT` reads are
    /// locked (shared, with the gaps beside them) until it commits.
    RepeatableRead,
    /// `READ COMMITTED`: every statement reads the rows committed when it starts, without
    /// locking them, also the rows an `INSERT … SELECT` reads.
    ReadCommitted,
}

/// How a pool's sessions are set up when they open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    pub commits: Commits,
    pub isolation: Isolation,
}

impl SessionSettings {
    /// The server's defaults.
    pub const DEFAULT: Self =
        Self { commits: Commits::EachStatement, isolation: Isolation::RepeatableRead };
    /// Transactions without `BEGIN` (`implicit_begin`).
    pub const EXPLICIT_COMMITS: Self =
        Self { commits: Commits::Explicit, isolation: Isolation::RepeatableRead };
    /// Statements that commit on their own and read without locking: an insert that
    /// depends on what another table holds, without holding that table's writers up.
    pub const READ_COMMITTED: Self =
        Self { commits: Commits::EachStatement, isolation: Isolation::ReadCommitted };
}

impl MysqlManager {
    pub fn new(database_url: &str) -> Self {
        Self::with_session(database_url, SessionSettings::DEFAULT)
    }

    pub fn with_session(database_url: &str, session: SessionSettings) -> Self {
        let mut config = ManagerConfig::<AsyncMysqlConnection>::default();
        config.custom_setup = Box::new(move |url| {
            async move {
                let mut conn = AsyncMysqlConnection::establish(url).await?;
                end_transactions_left_idle(&mut conn).await;
                for set in session.setup() {
                    conn.batch_execute(set)
                        .await
                        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                }
                conn.set_instrumentation(StatementWatch::default());
                Ok(conn)
            }
            .boxed()
        });
        // Checkouts verify only while the database is suspect (see `liveness`).
        config.recycling_method = RecyclingMethod::CustomFunction(Box::new(|conn| {
            async move {
                if liveness::suspect() {
                    diesel::sql_query("SELECT 1").execute(conn).await?;
                }
                Ok(())
            }
            .boxed()
        }));
        Self { inner: AsyncDieselConnectionManager::new_with_config(database_url, config) }
    }
}

impl bb8::ManageConnection for MysqlManager {
    type Connection = AsyncMysqlConnection;
    type Error = PoolError;

    async fn connect(&self) -> Result<Self::Connection, Self::Error> {
        self.inner.connect().await
    }

    async fn is_valid(&self, conn: &mut Self::Connection) -> Result<(), Self::Error> {
        self.inner.is_valid(conn).await
    }

    fn has_broken(&self, conn: &mut Self::Connection) -> bool {
        self.inner.has_broken(conn) || StatementWatch::left_unfinished(conn)
    }
}

impl SessionSettings {
    /// The statements that set the session up where it differs from the server's defaults.
    fn setup(self) -> impl Iterator<Item = &'static str> {
        let commits = match self.commits {
            Commits::EachStatement => None,
            Commits::Explicit => Some("SET SESSION autocommit = 0"),
        };
        let isolation = match self.isolation {
            Isolation::RepeatableRead => None,
            Isolation::ReadCommitted => {
                Some("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            }
        };
        commits.into_iter().chain(isolation)
    }
}

/// A client whose host dies without closing its socket leaves its open transaction holding
/// row locks until the server's TCP keepalive notices, hours later; a registration job
/// holds its job row locked for its whole run (`SELECT … FOR UPDATE`). Every transaction here
/// lasts milliseconds, so MariaDB may end one left idle this long (the job lease). MySQL has
/// no such variable: there the setting is skipped.
async fn end_transactions_left_idle(conn: &mut AsyncMysqlConnection) {
    let set = format!("SET SESSION idle_transaction_timeout = {IDLE_TRANSACTION_TIMEOUT_SECS}");
    if let Err(e) = diesel::sql_query(set).execute(conn).await {
        tracing::debug!(error = %e, "the server has no idle_transaction_timeout");
    }
}
