//! Product list pages cached in Redis, keyed by the normalised query under a generation
//! number. Every product or category write bumps the generation before it answers, and
//! every read looks the generation up in Redis, so once a write has returned no instance
//! serves a page from before it. Stale generations simply expire.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::models::ProductView;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};

/// How long a page may stay cached; a write makes it unreachable at once anyway.
const TTL: Duration = Duration::from_secs(300);

/// What a list query produced: enough to build the page for any request URL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedPage {
    pub count: u64,
    pub results: Vec<ProductView>,
}

#[derive(Clone)]
pub struct ProductCache {
    conn: ConnectionManager,
    generation_key: String,
    page_prefix: String,
    lookup: redis::Script,
    /// Set while a write's invalidation has not reached Redis: this instance reads MySQL
    /// until a retry has bumped the generation.
    unpublished: Arc<AtomicBool>,
}

/// What a read learned: the generation it ran under, and the page if it was cached.
pub struct Lookup {
    pub generation: u64,
    pub page: Option<CachedPage>,
}

impl ProductCache {
    pub fn new(conn: ConnectionManager, namespace: &str) -> Self {
        Self {
            conn,
            generation_key: format!("{namespace}:products:generation"),
            page_prefix: format!("{namespace}:products:page:"),
            // One round trip: the generation and that generation's page.
            lookup: redis::Script::new(
                r"local g = redis.call('GET', KEYS[1]) or '0'
                  return {g, redis.call('GET', ARGV[1] .. g .. ':' .. ARGV[2])}",
            ),
            unpublished: Arc::new(AtomicBool::new(false)),
        }
    }

    /// `None` when Redis is unavailable: the caller reads MySQL and caches nothing.
    pub async fn lookup(&self, query_key: &str) -> Option<Lookup> {
        if self.unpublished.load(Ordering::Acquire) {
            return None;
        }
        let mut conn = self.conn.clone();
        let (generation, page): (String, Option<Vec<u8>>) = self
            .lookup
            .key(&self.generation_key)
            .arg(&self.page_prefix)
            .arg(query_key)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| tracing::warn!(error = %e, "product cache unavailable"))
            .ok()?;
        Some(Lookup {
            generation: generation.parse().unwrap_or(0),
            page: page.and_then(|bytes| serde_json::from_slice(&bytes).ok()),
        })
    }

    pub async fn store(&self, generation: u64, query_key: &str, page: &CachedPage) {
        let Ok(bytes) = serde_json::to_vec(page) else {
            return;
        };
        let key = format!("{}{generation}:{query_key}", self.page_prefix);
        let mut conn = self.conn.clone();
        let stored: Result<(), _> = redis::cmd("SET")
            .arg(key)
            .arg(bytes)
            .arg("EX")
            .arg(TTL.as_secs())
            .query_async(&mut conn)
            .await;
        if let Err(e) = stored {
            tracing::warn!(error = %e, "product page not cached");
        }
    }

    /// After every catalogue write, before it answers.
    pub async fn invalidate(&self) {
        if self.bump().await {
            return;
        }
        // Redis is unreachable: pages cached before this write must not be served once it
        // is back. Keep bumping until it works; meanwhile this instance reads MySQL.
        if self.unpublished.swap(true, Ordering::AcqRel) {
            return; // a retry is already running
        }
        let cache = self.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            loop {
                tokio::time::sleep(delay).await;
                if cache.bump().await {
                    cache.unpublished.store(false, Ordering::Release);
                    tracing::info!("product cache invalidated after Redis came back");
                    return;
                }
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        });
    }

    async fn bump(&self) -> bool {
        let mut conn = self.conn.clone();
        let bumped: Result<u64, _> =
            redis::cmd("INCR").arg(&self.generation_key).query_async(&mut conn).await;
        match bumped {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(error = %e, "product cache not invalidated yet");
                false
            }
        }
    }
}
