//! dispatch-api as a library, so tests can run the real application in-process.

pub mod allow;
pub mod app;
pub mod bootstrap;
pub mod console;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod media;
pub mod metrics;
pub mod problem;
pub mod request_id;
pub mod routes;
pub mod schemas;
pub mod spec;
pub mod state;

use std::sync::Arc;

use anyhow::Context;
use dispatch_shared::config::Settings;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;
use tokio::runtime::Handle;

/// Applies migrations when configured, then serves until `shutdown` resolves, with the
/// WebSocket sessions on `sessions` (the current runtime's handle to keep them beside HTTP).
pub async fn serve(
    settings: Arc<Settings>,
    sessions: Handle,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let bind = settings.bind;
    let acceptor = TcpListener::bind(bind)
        .into_acceptor()
        .await
        .with_context(|| format!("DISPATCH_BIND: cannot listen on {bind}"))?;
    serve_on(settings, acceptor, sessions, shutdown).await
}

pub async fn serve_on<A: Acceptor + 'static>(
    settings: Arc<Settings>,
    acceptor: A,
    sessions: Handle,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    if settings.auto_migrate {
        migrate_when_reachable(&settings.database_url).await?;
    }
    if settings.jwt_secret.generated {
        tracing::warn!("DISPATCH_JWT_SECRET is not set: using a random secret, so tokens die with this process");
    }
    metrics::install();
    let state = state::AppState::build(settings.clone(), sessions).await?;
    bootstrap::ensure_admin_from_env(&state).await?;
    let app = app::build(state);
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, shutdown, Some(std::time::Duration::from_secs(10)))
        .await
        .context("HTTP server")
}

/// The database may still be starting (compose, a reboot): retry for a minute, then give up
/// with the cause.
async fn migrate_when_reachable(database_url: &str) -> anyhow::Result<()> {
    use dispatch_shared::db::{self, DbError};
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match db::migrate(database_url).await {
            Ok(applied) => {
                if !applied.is_empty() {
                    tracing::info!(?applied, "migrations applied");
                }
                return Ok(());
            }
            Err(DbError::Unavailable(cause)) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(%cause, "database unreachable; retrying migrations");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e).context("DATABASE_URL: could not apply migrations"),
        }
    }
}
