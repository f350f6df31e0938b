use std::sync::Arc;

use anyhow::Context;
use dispatch_shared::auth::TokenService;
use dispatch_shared::config::Settings;
use dispatch_shared::db::{self, DbPool};
use dispatch_shared::events::{self, Event, EventPublisher};
use dispatch_shared::jobs::JobQueues;
use dispatch_shared::redis_conn;
use redis::aio::ConnectionManager;
use tokio::sync::broadcast;

use crate::services::task_reads::TaskReads;
use crate::services::task_stream::TaskHub;
use crate::services::throttle::{LoginThrottle, RateLimit};
use crate::services::user_cache::UserCache;
use dispatch_shared::product_cache::ProductCache;

/// Everything a request handler may need, built once per process.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: DbPool,
    pub redis: ConnectionManager,
    pub queues: JobQueues,
    pub publisher: EventPublisher,
    /// Events from every instance and worker, fanned out to this instance's WebSockets.
    pub events: broadcast::Sender<Event>,
    pub tokens: TokenService,
    pub users: UserCache,
    pub throttle: LoginThrottle,
    pub rate_limit: RateLimit,
    pub products: ProductCache,
    /// This instance's task-stream sockets, by user.
    pub task_streams: Arc<TaskHub>,
    /// Task reads by id, batched under load.
    pub task_reads: TaskReads,
}

impl AppState {
    pub async fn build(settings: Arc<Settings>) -> anyhow::Result<Arc<Self>> {
        let db = db::build_pool(&settings.database_url, settings.db_pool_size);
        let client = redis::Client::open(settings.redis_url.as_str()).context("REDIS_URL")?;
        let redis = redis_conn::connect_lazy(&client).context("REDIS_URL")?;
        let events = events::spawn_subscriber(client, &settings.redis_namespace);
        let users = UserCache::new(
            settings.user_cache_ttl,
            &events,
            db.clone(),
            settings.db_pool_size,
        );
        let task_reads = TaskReads::spawn(db.clone(), settings.db_pool_size);
        Ok(Arc::new(Self {
            task_reads,
            task_streams: TaskHub::spawn(&events),
            users,
            products: ProductCache::new(redis.clone(), &settings.redis_namespace),
            throttle: LoginThrottle::new(redis.clone(), &settings.redis_namespace),
            rate_limit: RateLimit::new(redis.clone(), &settings.redis_namespace),
            queues: JobQueues::new(redis.clone(), &settings.redis_namespace),
            publisher: EventPublisher::new(redis.clone(), &settings.redis_namespace),
            tokens: TokenService::new(
                &settings.jwt_secret,
                settings.access_ttl,
                settings.refresh_ttl,
            ),
            settings,
            db,
            redis,
            events,
        }))
    }
}
