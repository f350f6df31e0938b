//! dispatch-worker: runs every job kind from Redis, with MySQL as the source of truth.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use dispatch_shared::config::{parse_kinds, Settings};
use dispatch_shared::telemetry;

use dispatch_worker::workers;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    telemetry::run_binary("dispatch-worker", run).await;
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
