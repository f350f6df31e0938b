use std::io::IsTerminal;

use tracing_subscriber::{fmt, EnvFilter};

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
