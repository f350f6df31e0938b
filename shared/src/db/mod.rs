//! The MySQL/MariaDB pool, database creation and embedded migrations.

pub mod compound;
pub mod id;
pub mod implicit_begin;
pub mod keep_prepared;
pub mod lending;
pub mod liveness;
pub mod schema;

use std::time::Duration;

use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::bb8::RunError;
use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use lending::{
    Commits, Isolation, MysqlManager, SessionSettings, IDLE_TRANSACTION_TIMEOUT_SECS,
};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

pub type DbPool = bb8::Pool<MysqlManager>;
pub type DbConn<'a> = bb8::PooledConnection<'a, MysqlManager>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("invalid DATABASE_URL: {0}")]
    BadUrl(String),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl From<RunError> for DbError {
    fn from(err: RunError) -> Self {
        liveness::connection_failed();
        DbError::Unavailable(err.to_string())
    }
}

impl From<diesel::ConnectionError> for DbError {
    fn from(err: diesel::ConnectionError) -> Self {
        DbError::Unavailable(err.to_string())
    }
}

/// Builds the pool without connecting, so a process can start (and report 503) while the
/// database is down; each checkout waits at most `checkout_timeout`. Connections are
/// verified on checkout only while the database is suspect (see `liveness`), and never lent
/// again after a statement on them was left unfinished (see `lending`).
pub fn build_pool(database_url: &str, max_size: u32) -> DbPool {
    build_pool_with(database_url, max_size, SessionSettings::DEFAULT)
}

/// `build_pool`, with its sessions set up as `session` says.
pub fn build_pool_with(database_url: &str, max_size: u32, session: SessionSettings) -> DbPool {
    bb8::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(3))
        .idle_timeout(Some(Duration::from_secs(300)))
        .build_unchecked(MysqlManager::with_session(database_url, session))
}

/// Splits `mysql://user@host:port/name?opts` into the server URL and the database name.
fn split_database_url(database_url: &str) -> Result<(String, String), DbError> {
    let (without_query, query) = match database_url.split_once('?') {
        Some((base, q)) => (base, Some(q)),
        None => (database_url, None),
    };
    let scheme_end = without_query
        .find("://")
        .ok_or_else(|| DbError::BadUrl("expected mysql://user@host:port/database".into()))?;
    let after_scheme = &without_query[scheme_end + 3..];
    let (authority, name) = after_scheme
        .split_once('/')
        .ok_or_else(|| DbError::BadUrl("the URL names no database".into()))?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
        return Err(DbError::BadUrl(format!("unusable database name {name:?}")));
    }
    let mut server = format!("{}{}/", &without_query[..scheme_end + 3], authority);
    if let Some(q) = query {
        server.push('?');
        server.push_str(q);
    }
    Ok((server, name.to_owned()))
}

pub fn database_name(database_url: &str) -> Result<String, DbError> {
    split_database_url(database_url).map(|(_, name)| name)
}

pub async fn connect_server(database_url: &str) -> Result<AsyncMysqlConnection, DbError> {
    let (server, _) = split_database_url(database_url)?;
    Ok(AsyncMysqlConnection::establish(&server).await?)
}

pub async fn create_database_if_missing(database_url: &str) -> Result<(), DbError> {
    let name = database_name(database_url)?;
    let mut conn = connect_server(database_url).await?;
    diesel::sql_query(format!(
        "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ))
    .execute(&mut conn)
    .await?;
    Ok(())
}

pub async fn drop_database(database_url: &str) -> Result<(), DbError> {
    let name = database_name(database_url)?;
    let mut conn = connect_server(database_url).await?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS `{name}`")).execute(&mut conn).await?;
    Ok(())
}

/// Creates the database when missing and applies pending migrations. Diesel's migration
/// harness is synchronous, so it runs on a blocking thread over the async connection.
pub async fn migrate(database_url: &str) -> Result<Vec<String>, DbError> {
    create_database_if_missing(database_url).await?;
    // Several instances may start at once: one migrates, the others wait and find nothing
    // left to do. The lock belongs to this connection and dies with it.
    let mut lock = AsyncMysqlConnection::establish(database_url).await?;
    let acquired: LockResult =
        diesel::sql_query("SELECT GET_LOCK('dispatch_migrations', 120) AS ok")
            .get_result(&mut lock)
            .await?;
    if acquired.ok != Some(1) {
        return Err(DbError::Migration(
            "another instance held the migration lock for 2 minutes".into(),
        ));
    }
    let applied = apply_pending(database_url).await;
    let _ = diesel::sql_query("SELECT RELEASE_LOCK('dispatch_migrations') AS ok")
        .get_result::<LockResult>(&mut lock)
        .await;
    applied
}

#[derive(diesel::QueryableByName)]
struct LockResult {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    ok: Option<i64>,
}

async fn apply_pending(database_url: &str) -> Result<Vec<String>, DbError> {
    let conn = AsyncMysqlConnection::establish(database_url).await?;
    tokio::task::spawn_blocking(move || {
        let mut wrapper: AsyncConnectionWrapper<AsyncMysqlConnection> =
            AsyncConnectionWrapper::from(conn);
        let applied = wrapper
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?;
        Ok(applied.iter().map(|v| v.to_string()).collect())
    })
    .await
    .map_err(|e| DbError::Migration(e.to_string()))?
}

/// `SELECT 1` through the pool: the readiness probe.
pub async fn ping(pool: &DbPool) -> Result<(), DbError> {
    let mut conn = pool.get().await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}

pub fn is_unique_violation(err: &diesel::result::Error) -> Option<String> {
    match err {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        ) => Some(info.message().to_owned()),
        _ => None,
    }
}

/// InnoDB chose this transaction as a deadlock victim: running it again is the remedy.
pub fn is_deadlock(err: &diesel::result::Error) -> bool {
    matches!(err, diesel::result::Error::DatabaseError(_, info) if info.message().contains("Deadlock"))
}

/// A row still referenced elsewhere (a category with products) or a reference to a row
/// that is gone.
pub fn is_foreign_key_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _
        )
    ) || matches!(err, diesel::result::Error::DatabaseError(_, info)
        if info.message().contains("foreign key constraint fails"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_url_into_server_and_name() {
        let (server, name) = split_database_url("mysql://root@127.0.0.1:3306/dispatch").unwrap();
        assert_eq!(server, "mysql://root@127.0.0.1:3306/");
        assert_eq!(name, "dispatch");
        assert!(split_database_url("mysql://root@127.0.0.1:3306").is_err());
        assert!(split_database_url("mysql://root@h/bad`name").is_err());
    }
}
