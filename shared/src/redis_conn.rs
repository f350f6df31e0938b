use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// A self-reconnecting connection whose commands fail fast while Redis is down, so requests
/// answer 503 instead of hanging.
pub async fn connect(client: &redis::Client) -> redis::RedisResult<ConnectionManager> {
    client.get_connection_manager_with_config(config()).await
}

/// Connects on first use, so a process can start (and report 503) while Redis is down.
pub fn connect_lazy(client: &redis::Client) -> redis::RedisResult<ConnectionManager> {
    client.get_connection_manager_lazy(config())
}

fn config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(3)))
        .set_number_of_retries(1)
}

pub async fn ping(conn: &ConnectionManager) -> redis::RedisResult<()> {
    let mut conn = conn.clone();
    redis::cmd("PING").query_async::<String>(&mut conn).await.map(|_| ())
}
