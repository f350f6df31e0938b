//! dispatch-worker: runs every job kind from Redis, with MySQL as the source of truth.

use std::sync::Arc;

use anyhow::Context;
use dispatch_shared::config::Settings;
use dispatch_shared::telemetry;

use dispatch_worker::workers;

#[tokio::main]
async fn main() {
    dispatch_shared::memory::return_large_blocks_to_the_system();
    let _ = dotenvy::dotenv();
    if let Err(e) = telemetry::init() {
        eprintln!("dispatch-worker: {e}");
        std::process::exit(1);
    }
    if let Err(e) = run().await {
        tracing::error!("dispatch-worker stopped: {e:#}");
        eprintln!("dispatch-worker: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let settings = Arc::new(Settings::from_env().context("configuration")?);
    workers::run(settings, workers::shutdown_signal()).await
}
