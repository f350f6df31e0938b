use std::io::IsTerminal;

use tracing_subscriber::{fmt, EnvFilter};

/// What both binaries do around their own work: `.env` is read, logging starts, and `work` runs on the runtime's worker threads. Not in
/// `block_on` on the main thread: there every wake-up from the I/O driver (an accepted
/// connection, a Redis reply, a MySQL row) would cross threads. A failure is logged and ends
/// the process with status 1.
pub async fn run_binary<F>(name: &str, work: impl FnOnce() -> F)
where
    F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let _ = dotenvy::dotenv();
    if let Err(e) = init() {
        eprintln!("{name}: {e}");
        std::process::exit(1);
    }
    let outcome = tokio::spawn(work())
        .await
        .unwrap_or_else(|e| Err(anyhow::anyhow!("the main task failed: {e}")));
    if let Err(e) = outcome {
        tracing::error!("{name} stopped: {e:#}");
        eprintln!("{name}: {e:#}");
        std::process::exit(1);
    }
}

/// Structured log lines, filtered by `RUST_LOG` (default `info`): human-readable text, with
/// colour only on a terminal, or JSON lines for log shippers with `DISPATCH_LOG_FORMAT=json`.
/// A wrong format is an error naming the variable.
pub fn init() -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let format = std::env::var("DISPATCH_LOG_FORMAT").unwrap_or_else(|_| "text".into());
    let builder = fmt().with_env_filter(filter).with_target(true);
    match format.trim() {
        "text" | "" => {
            let _ = builder.with_ansi(std::io::stdout().is_terminal()).try_init();
        }
        "json" => {
            let _ = builder.json().with_current_span(true).try_init();
        }
        other => return Err(format!("DISPATCH_LOG_FORMAT: expected text or json, got {other:?}")),
    }
    Ok(())
}
