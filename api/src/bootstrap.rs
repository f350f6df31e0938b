//! The first admin: `dispatch-api create-superuser`, and the start-up bootstrap from
//! `DISPATCH_ADMIN_USERNAME` / `DISPATCH_ADMIN_EMAIL` / `DISPATCH_ADMIN_PASSWORD`.

use anyhow::{bail, Context};
use dispatch_core::accounts::superuser::{create_superuser, Outcome};

use crate::state::AppState;

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

pub async fn ensure_admin_from_env(state: &AppState) -> anyhow::Result<()> {
    let (username, email, password) = match (
        env("DISPATCH_ADMIN_USERNAME"),
        env("DISPATCH_ADMIN_EMAIL"),
        env("DISPATCH_ADMIN_PASSWORD"),
    ) {
        (None, None, None) => return Ok(()),
        (Some(u), Some(e), Some(p)) => (u, e, p),
        _ => bail!(
            "DISPATCH_ADMIN_USERNAME, DISPATCH_ADMIN_EMAIL and DISPATCH_ADMIN_PASSWORD must be set together"
        ),
    };
    match create_superuser(&state.db, &username, &email, &password)
        .await
        .context("DISPATCH_ADMIN_PASSWORD / DISPATCH_ADMIN_USERNAME / DISPATCH_ADMIN_EMAIL")?
    {
        Outcome::Created(id) => tracing::info!(%id, %username, "admin account created"),
        Outcome::AlreadyExists => tracing::debug!(%username, "admin account already present"),
    }
    Ok(())
}
