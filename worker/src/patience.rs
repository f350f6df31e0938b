//! Waiting for a dependency at start (or after an outage): retry every second, warning once.

use std::future::Future;
use std::time::Duration;

const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Runs `attempt` until it succeeds; the first failure is logged as waiting for `what`.
pub async fn until_ok<T, E, F, Fut>(what: &str, mut attempt: F) -> T
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut warned = false;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(e) => {
                if !warned {
                    tracing::warn!(error = %e, "waiting for {what}");
                    warned = true;
                }
                tokio::time::sleep(RETRY_EVERY).await;
            }
        }
    }
}
