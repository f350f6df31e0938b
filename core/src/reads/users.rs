//! Authenticated requests read the user from a short-lived per-instance cache instead of
//! MySQL. An entry lives at most `DISPATCH_USER_CACHE_TTL` (≤ 5 s), and changes made through
//! any instance are published so every instance drops its copy at once: a deactivated or
//! deleted user's tokens stop working within the TTL even if the event is lost. What the
//! cache does not hold (or everything, with the cache off) is read in batches.

use std::sync::Arc;
use std::time::Duration;

use diesel::QueryResult;
use diesel_async::AsyncMysqlConnection;
use dispatch_shared::db::DbPool;
use dispatch_shared::events::{Event, EventPublisher};
use dispatch_shared::models::UserRow;
use dispatch_shared::repo::users;
use moka::future::Cache;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::reads::batched::{BatchedReads, PointRead};
use crate::Failure;

const CAPACITY: u64 = 100_000;

#[derive(Clone)]
pub struct UserById;

impl PointRead for UserById {
    type Key = Uuid;
    type Row = UserRow;
    const WHAT: &'static str = "user";

    fn row_id(key: &Uuid) -> String {
        key.to_string()
    }

    async fn find_many(
        conn: &mut AsyncMysqlConnection,
        ids: &[String],
    ) -> QueryResult<Vec<UserRow>> {
        users::find_many(conn, ids).await
    }

    fn answers(row: &UserRow, key: &Uuid) -> bool {
        row.id.0 == *key
    }
}

#[derive(Clone)]
pub struct UserCache {
    entries: Cache<Uuid, Arc<UserRow>>,
    enabled: bool,
    reads: BatchedReads<UserById>,
}

impl UserCache {
    /// Reads through `db`, whose pool holds `pool_size` connections.
    pub fn new(
        ttl: Duration,
        events: &broadcast::Sender<Event>,
        db: DbPool,
        pool_size: u32,
    ) -> Self {
        let entries = Cache::builder()
            .max_capacity(CAPACITY)
            .time_to_live(ttl.max(Duration::from_millis(1)))
            .build();
        let cache =
            Self { entries, enabled: !ttl.is_zero(), reads: BatchedReads::spawn(db, pool_size) };
        let mut receiver = events.subscribe();
        let listener = cache.clone();
        tokio::spawn(async move {
            loop {
                match receiver.recv().await {
                    Ok(Event::UserChanged { user_id }) => {
                        listener.entries.invalidate(&user_id).await
                    }
                    Ok(_) => {}
                    // Missed events: drop everything rather than serve a stale user.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        listener.entries.invalidate_all()
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        cache
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<Arc<UserRow>>, Failure> {
        if self.enabled {
            if let Some(user) = self.entries.get(&id).await {
                return Ok(Some(user));
            }
        }
        let user = self.reads.find(id).await?.map(Arc::new);
        if let (true, Some(user)) = (self.enabled, &user) {
            self.entries.insert(id, user.clone()).await;
        }
        Ok(user)
    }

    /// Call after changing or deleting a user.
    pub async fn changed(&self, publisher: &EventPublisher, id: Uuid) {
        self.entries.invalidate(&id).await;
        publisher.publish(&Event::UserChanged { user_id: id }).await;
    }
}
