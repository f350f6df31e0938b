//! dispatch-api as a library, so tests can run the real application in-process.

pub mod app;
pub mod bootstrap;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod problem;
pub mod routes;
pub mod schemas;
pub mod services;
pub mod state;

use std::sync::Arc;

use anyhow::Context;
use dispatch_shared::config::Settings;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;

/// Applies migrations when configured, then serves until `shutdown` resolves.
pub async fn serve(
    settings: Arc<Settings>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let bind = settings.bind;
    let acceptor = TcpListener::bind(bind)
        .into_acceptor()
        .await
        .with_context(|| format!("DISPATCH_BIND: cannot listen on {bind}"))?;
    serve_on(settings, acceptor, shutdown).await
}

pub async fn serve_on<A: Acceptor + 'static>(
    settings: Arc<Settings>,
    acceptor: A,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    if settings.auto_migrate {
        let applied = dispatch_shared::db::migrate(&settings.database_url)
            .await
            .context("DATABASE_URL: could not apply migrations")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
    }
    if settings.jwt_secret.generated {
        tracing::warn!("DISPATCH_JWT_SECRET is not set: using a random secret, so tokens die with this process");
    }
    metrics::install();
    let state = state::AppState::build(settings.clone()).await?;
    bootstrap::ensure_admin_from_env(&state).await?;
    let app = app::build(state);
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, shutdown, Some(std::time::Duration::from_secs(10)))
        .await
        .context("HTTP server")
}
