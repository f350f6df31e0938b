//! Whether this process can serve: MySQL and Redis both answer in time.

use std::time::Duration;

use dispatch_shared::db::DbPool;
use redis::aio::ConnectionManager;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dependencies {
    pub mysql: bool,
    pub redis: bool,
}

impl Dependencies {
    pub fn all_up(&self) -> bool {
        self.mysql && self.redis
    }
}

#[derive(Clone)]
pub struct Readiness {
    db: DbPool,
    redis: ConnectionManager,
}

impl Readiness {
    pub fn new(db: DbPool, redis: ConnectionManager) -> Self {
        Self { db, redis }
    }

    /// Probes both at once, each within 2 s.
    pub async fn check(&self) -> Dependencies {
        let (mysql, redis) = tokio::join!(
            tokio::time::timeout(PROBE_TIMEOUT, dispatch_shared::db::ping(&self.db)),
            tokio::time::timeout(PROBE_TIMEOUT, dispatch_shared::redis_conn::ping(&self.redis)),
        );
        Dependencies { mysql: matches!(mysql, Ok(Ok(()))), redis: matches!(redis, Ok(Ok(()))) }
    }
}
