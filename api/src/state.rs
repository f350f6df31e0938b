use std::ops::Deref;
use std::sync::Arc;

use anyhow::Context;
use dispatch_core::reads::in_flight;
use dispatch_core::services::{Clients, Services};
use dispatch_core::tasks::stream::TaskHub;
use dispatch_shared::config::Settings;
use dispatch_shared::db::{self, DbPool, SessionSettings};
use dispatch_shared::{events, redis_conn};
use tokio::runtime::Handle;

use crate::schemas::task_stream_message;

/// What request handlers share, built once per process: the settings, every area's use
/// cases (reached through `Deref`), and this instance's live task streams.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub services: Services,
    /// For the HTTP layer's own records (idempotency keys) and the admin bootstrap.
    pub db: DbPool,
    /// This instance's task-stream sockets, by user.
    pub task_streams: Arc<TaskHub>,
    /// Where WebSocket sessions run once upgraded.
    pub sessions_runtime: Handle,
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

impl AppState {
    pub async fn build(
        settings: Arc<Settings>,
        sessions_runtime: Handle,
    ) -> anyhow::Result<Arc<Self>> {
        let db = db::build_pool(&settings.database_url, settings.db_pool_size);
        // A registration's job row goes in one at a time per hash that finishes: one
        // connection per core serves them.
        let admissions = db::build_pool_with(
            &settings.database_url,
            in_flight(settings.db_pool_size) as u32,
            SessionSettings::READ_COMMITTED,
        );
        let client = redis::Client::open(settings.redis_url.as_str()).context("REDIS_URL")?;
        let redis = redis_conn::connect_lazy(&client).context("REDIS_URL")?;
        let job_followers = events::JobFollowers::default();
        let events =
            events::spawn_subscriber(client, &settings.redis_namespace, job_followers.clone());
        let task_streams = TaskHub::spawn(&events, task_stream_message);
        let clients = Clients { db: db.clone(), admissions, redis, events, job_followers };
        Ok(Arc::new(Self {
            services: Services::new(&settings, &clients),
            settings,
            db,
            task_streams,
            sessions_runtime,
        }))
    }
}
