//! Every area's service, wired once per process from the settings and the shared clients.

use std::sync::Arc;

use dispatch_shared::auth::TokenService;
use dispatch_shared::config::Settings;
use dispatch_shared::db::DbPool;
use dispatch_shared::events::{Event, EventPublisher, JobFollowers};
use dispatch_shared::jobs::JobQueues;
use dispatch_shared::product_cache::ProductCache;
use redis::aio::ConnectionManager;
use tokio::sync::broadcast;

use crate::accounts::profile::Profiles;
use crate::accounts::registration::Registrations;
use crate::accounts::sessions::Sessions;
use crate::accounts::throttle::{LoginThrottle, RateLimit};
use crate::admin_users::AdminUsers;
use crate::assignments::Assignments;
use crate::catalogue::categories::Categories;
use crate::catalogue::product_images::ProductImages;
use crate::catalogue::products::Products;
use crate::daily_mail::DailyMail;
use crate::jobs::Jobs;
use crate::operations::JobOperations;
use crate::readiness::Readiness;
use crate::reads::in_flight;
use crate::reads::users::UserCache;
use crate::shopping::carts::Carts;
use crate::shopping::orders::Orders;
use crate::tasks::kept_pages::KeptTaskPages;
use crate::tasks::reads::{TaskPages, TaskReads};
use crate::tasks::writes::TaskInserts;
use crate::tasks::Tasks;

/// The clients every service draws from: one pool (and a small one for conditional
/// inserts), one Redis connection, one event bus.
pub struct Clients {
    pub db: DbPool,
    /// Sessions that read committed rows without locking them (`SessionSettings::READ_COMMITTED`),
    /// for inserts that depend on what another table holds: a registration's job.
    pub admissions: DbPool,
    pub redis: ConnectionManager,
    /// Events from every instance and worker, as this process hears them, but the jobs'.
    pub events: broadcast::Sender<Event>,
    /// The jobs' events, each for the followers of its job.
    pub job_followers: JobFollowers,
}

pub struct Services {
    pub sessions: Sessions,
    pub registrations: Registrations,
    pub profiles: Profiles,
    pub admin_users: AdminUsers,
    pub tasks: Tasks,
    pub assignments: Assignments,
    pub categories: Categories,
    pub products: Products,
    pub product_images: ProductImages,
    pub carts: Carts,
    pub orders: Orders,
    pub jobs: Jobs,
    pub daily_mail: DailyMail,
    pub operations: JobOperations,
    pub readiness: Readiness,
}

impl Services {
    pub fn new(settings: &Arc<Settings>, clients: &Clients) -> Self {
        let Clients { db, admissions, redis, events, job_followers } = clients;
        let namespace = settings.redis_namespace.as_str();
        let limit = settings.daily_task_limit;
        let publisher = EventPublisher::new(redis.clone(), namespace);
        let cache = ProductCache::new(redis.clone(), namespace);
        let rate_limit = RateLimit::new(redis.clone(), namespace);
        let users =
            UserCache::new(settings.user_cache_ttl, events, db.clone(), settings.db_pool_size);
        let tokens =
            TokenService::new(&settings.jwt_secret, settings.access_ttl, settings.refresh_ttl);
        let jobs = Jobs::new(
            db.clone(),
            admissions.clone(),
            JobQueues::new(redis.clone(), namespace),
            job_followers.clone(),
        );
        let sessions = Sessions::new(
            db.clone(),
            tokens,
            users.clone(),
            LoginThrottle::new(redis.clone(), namespace),
            limit,
        );
        let products = Products::new(db.clone(), cache.clone(), settings.media_root.clone());
        Self {
            registrations: Registrations::new(
                db.clone(),
                jobs.clone(),
                sessions.clone(),
                rate_limit.clone(),
                settings.registrations_per_minute,
            ),
            profiles: Profiles::new(
                db.clone(),
                users.clone(),
                publisher.clone(),
                rate_limit,
                limit,
            ),
            admin_users: AdminUsers::new(db.clone(), users, publisher.clone(), limit),
            tasks: Tasks::new(
                db.clone(),
                TaskReads::spawn(db.clone(), settings.db_pool_size),
                KeptTaskPages::new(
                    TaskPages::spawn(db.clone(), in_flight(settings.db_pool_size)),
                    db.clone(),
                    settings.db_pool_size,
                    settings.task_page_cache_bytes,
                ),
                TaskInserts::spawn(db.clone(), in_flight(settings.db_pool_size)),
                publisher.clone(),
            ),
            assignments: Assignments::new(db.clone(), limit),
            categories: Categories::new(db.clone(), cache.clone()),
            product_images: ProductImages::new(
                db.clone(),
                cache.clone(),
                jobs.clone(),
                products.clone(),
                settings.media_root.clone(),
            ),
            products,
            carts: Carts::new(db.clone(), cache),
            orders: Orders::new(db.clone()),
            daily_mail: DailyMail::new(jobs.clone()),
            operations: JobOperations::new(
                db.clone(),
                redis.clone(),
                namespace,
                jobs.clone(),
                publisher.clone(),
            ),
            readiness: Readiness::new(db.clone(), redis.clone()),
            jobs,
            sessions,
        }
    }
}
