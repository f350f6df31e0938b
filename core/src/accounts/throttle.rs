//! Throttles shared by every API instance through Redis.
//!
//! Logins: after 5 consecutive failures for one account, or 50 failures within
//! a minute from one client address, attempts are refused for 30 seconds. A success resets
//! the account's count; attempts while blocked neither count nor extend the block.
//!
//! Registrations and password changes each cost an Argon2 hash, and a registration's 409
//! tells whether a username or email is taken: both are limited per minute, registrations
//! per client address, password changes per user (`RateLimit`).

use std::net::IpAddr;
use std::time::Duration;

use redis::aio::ConnectionManager;

pub const ACCOUNT_LIMIT: u64 = 5;
pub const ADDRESS_LIMIT: u64 = 50;
pub const ADDRESS_WINDOW: Duration = Duration::from_secs(60);
pub const BLOCK_FOR: Duration = Duration::from_secs(30);
// Consecutive failures are forgotten after a quiet quarter of an hour.
const ACCOUNT_MEMORY: Duration = Duration::from_secs(15 * 60);

#[derive(Clone)]
pub struct LoginThrottle {
    conn: ConnectionManager,
    namespace: String,
}

/// The account a login attempt counts against: the user's id when the name (username or
/// email) belongs to someone, so both names share one count; otherwise the name as typed,
/// normalised.
pub fn account_key(user: Option<uuid::Uuid>, login: &str) -> String {
    match user {
        Some(id) => format!("user:{id}"),
        None => format!("name:{}", login.trim().to_lowercase()),
    }
}

impl LoginThrottle {
    pub fn new(conn: ConnectionManager, namespace: &str) -> Self {
        Self { conn, namespace: namespace.to_owned() }
    }

    fn key(&self, parts: &[&str]) -> String {
        format!("{}:throttle:{}", self.namespace, parts.join(":"))
    }

    /// How long the caller must still wait, if blocked.
    pub async fn blocked_for(
        &self,
        account: &str,
        address: IpAddr,
    ) -> redis::RedisResult<Option<Duration>> {
        let mut conn = self.conn.clone();
        let (account_ttl, address_ttl): (i64, i64) = redis::pipe()
            .cmd("PTTL")
            .arg(self.key(&["block", "account", account]))
            .cmd("PTTL")
            .arg(self.key(&["block", "address", &address.to_string()]))
            .query_async(&mut conn)
            .await?;
        let longest = account_ttl.max(address_ttl);
        Ok((longest > 0).then(|| Duration::from_millis(longest as u64)))
    }

    pub async fn record_failure(&self, account: &str, address: IpAddr) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        let address = address.to_string();
        let account_count_key = self.key(&["failures", "account", account]);
        let address_count_key = self.key(&["failures", "address", &address]);
        let (account_failures, address_failures): (u64, u64) = redis::pipe()
            .cmd("INCR")
            .arg(&account_count_key)
            .cmd("EXPIRE")
            .arg(&account_count_key)
            .arg(ACCOUNT_MEMORY.as_secs())
            .ignore()
            .cmd("INCR")
            .arg(&address_count_key)
            .cmd("EXPIRE")
            .arg(&address_count_key)
            .arg(ADDRESS_WINDOW.as_secs())
            .arg("NX")
            .ignore()
            .query_async(&mut conn)
            .await?;
        let mut block = redis::pipe();
        if account_failures >= ACCOUNT_LIMIT {
            self.block(&mut block, "account", account, &account_count_key);
        }
        if address_failures >= ADDRESS_LIMIT {
            self.block(&mut block, "address", &address, &address_count_key);
        }
        if account_failures >= ACCOUNT_LIMIT || address_failures >= ADDRESS_LIMIT {
            block.query_async::<()>(&mut conn).await?;
        }
        Ok(())
    }

    /// Starts a block (unless one runs: NX keeps it from being extended) and forgets the count.
    fn block(&self, pipe: &mut redis::Pipeline, scope: &str, who: &str, count_key: &str) {
        pipe.cmd("SET")
            .arg(self.key(&["block", scope, who]))
            .arg(1)
            .arg("PX")
            .arg(BLOCK_FOR.as_millis() as u64)
            .arg("NX")
            .ignore()
            .cmd("DEL")
            .arg(count_key)
            .ignore();
    }

    pub async fn record_success(&self, account: &str) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("DEL")
            .arg(self.key(&["failures", "account", account]))
            .query_async::<()>(&mut conn)
            .await
    }
}

/// More attempts than the throttle allows; the caller may try again after `retry_after`.
#[derive(Debug, thiserror::Error)]
#[error("too many attempts; try again in {retry_after:?}")]
pub struct TooManyAttempts {
    pub retry_after: Duration,
}

/// A fixed-window count of attempts per minute: beyond `limit`, refused until the window
/// ends.
#[derive(Clone)]
pub struct RateLimit {
    conn: ConnectionManager,
    namespace: String,
}

pub const RATE_WINDOW: Duration = Duration::from_secs(60);
/// Password changes one user may attempt per minute.
pub const PASSWORD_CHANGES_PER_MINUTE: u32 = 10;

impl RateLimit {
    pub fn new(conn: ConnectionManager, namespace: &str) -> Self {
        Self { conn, namespace: namespace.to_owned() }
    }

    /// Counts an attempt of `action` by `who`, refused when it is one too many. When Redis
    /// cannot count, the attempt goes ahead (as logins do): the limit protects the hashing
    /// threads, not the data.
    pub async fn check(&self, action: &str, who: &str, limit: u32) -> Result<(), TooManyAttempts> {
        match self.take(action, who, limit).await {
            Ok(Some(retry_after)) => Err(TooManyAttempts { retry_after }),
            Ok(None) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, action, "rate limit unavailable");
                Ok(())
            }
        }
    }

    async fn take(
        &self,
        action: &str,
        who: &str,
        limit: u32,
    ) -> redis::RedisResult<Option<Duration>> {
        let key = format!("{}:rate:{action}:{who}", self.namespace);
        let mut conn = self.conn.clone();
        let (count, ttl): (u64, i64) = redis::pipe()
            .cmd("INCR")
            .arg(&key)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(RATE_WINDOW.as_millis() as u64)
            .arg("NX")
            .ignore()
            .cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await?;
        Ok((count > u64::from(limit)).then(|| Duration::from_millis(ttl.max(1) as u64)))
    }
}
