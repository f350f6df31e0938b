//! Test support: every test gets its own MariaDB database and Redis namespace (both removed
//! when the test ends), so tests run in parallel against the real services.

pub mod browser;
pub mod burst;
pub mod calls;
pub mod catalogue;
pub mod env;
pub mod http;
pub mod mariadb_server;
pub mod process;
pub mod queued;
pub mod redis_server;
pub mod remote;
pub mod smtp;
pub mod ws;

pub use calls::Calls;
pub use env::TestEnv;
pub use http::{call_at, TestApp, TestUser};
pub use process::Binary;

use std::time::Duration;

/// Waits for `condition` to yield a value, polling every 50 ms, failing after `timeout`.
pub async fn wait_until<T, F, Fut>(timeout: Duration, what: &str, mut condition: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = condition().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
