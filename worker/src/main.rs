//! dispatch-worker: runs every job kind from Redis, with MySQL as the source of truth.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use dispatch_shared::config::{parse_kinds, Settings};
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
    // On the runtime's worker threads, not in `block_on` on the main thread: there every
    // wake-up from the I/O driver (a Redis reply, a MySQL row) would cross threads.
    let outcome = tokio::spawn(run())
        .await
        .unwrap_or_else(|e| Err(anyhow::anyhow!("the worker's main task failed: {e}")));
    if let Err(e) = outcome {
        tracing::error!("dispatch-worker stopped: {e:#}");
        eprintln!("dispatch-worker: {e:#}");
        std::process::exit(1);
    }
}

/// Runs background jobs from Redis, with MySQL as the source of truth.
#[derive(Parser)]
#[command(name = "dispatch-worker", version)]
struct Cli {
    /// Run only these job kinds, comma-separated (register_user, resize_image, send_mail,
    /// daily_mail); overrides DISPATCH_WORKER_KINDS. Default: all.
    #[arg(long, value_name = "KINDS")]
    kinds: Option<String>,
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = Settings::from_env().context("configuration")?;
    if let Some(kinds) = cli.kinds {
        settings.worker_kinds = parse_kinds("--kinds", &kinds).context("configuration")?;
    }
    let settings = Arc::new(settings);
    workers::run(settings, workers::shutdown_signal()).await
}
