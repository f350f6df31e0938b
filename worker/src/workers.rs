//! Wires the apalis workers (one per job kind) and the upkeep loops, and runs them until
//! SIGTERM or Ctrl-C: then no new job is taken and the ones in hand finish.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use apalis::layers::retry::backoff::{ExponentialBackoffMaker, MakeBackoff};
use apalis::layers::retry::HasherRng;
use apalis::prelude::*;
use apalis_cron::CronScheduler;
use dispatch_core::reads::in_flight;
use dispatch_shared::config::Settings;
use dispatch_shared::db;
use dispatch_shared::events::EventPublisher;
use dispatch_shared::jobs::{JobKind, JobQueues};
use dispatch_shared::product_cache::ProductCache;
use dispatch_shared::redis_conn;
use tokio_util::sync::CancellationToken;

use crate::acked_events::{AckedEvents, ACK_PATIENCE};
use crate::context::JobContext;
use crate::health::ConsumerHealth;
use crate::heartbeat::{self, InHand};
use crate::mail::Mailer;
use crate::single_commit::SharedCommits;
use crate::{maintenance, metrics_server, patience, runner, schedule, wake};

const SHUTDOWN_GRACE: Duration = Duration::from_secs(120);
const RESTART_AFTER: Duration = Duration::from_secs(2);

/// Runs until `shutdown` resolves, then lets the jobs in hand finish.
pub async fn run(
    settings: Arc<Settings>,
    shutdown: impl std::future::Future<Output = std::io::Result<()>> + Send + 'static,
) -> anyhow::Result<()> {
    let health = Arc::new(ConsumerHealth::new(settings.worker_recovery_limit));
    metrics_server::serve(settings.worker_metrics_bind, health.clone()).await?;
    let pool = db::build_pool(&settings.database_url, settings.db_pool_size);
    patience::until_ok("the database and its migrations (dispatch-api applies them)", || {
        schema_ready(&pool)
    })
    .await;

    let mailer =
        Mailer::new(settings.smtp_url.as_deref(), settings.mail_dir.clone(), &settings.mail_from)?;
    let client = redis::Client::open(settings.redis_url.as_str()).context("REDIS_URL")?;
    let conn = patience::until_ok("Redis", || redis_conn::connect(&client)).await;
    let registry_conn = conn.clone();
    let in_hand = Arc::new(InHand::default());
    let events = EventPublisher::new(conn.clone(), &settings.redis_namespace);
    let ctx = Arc::new(JobContext {
        settings: settings.clone(),
        shared_commits: SharedCommits::spawn(
            &settings.database_url,
            in_flight(settings.db_pool_size),
        ),
        db: pool,
        events: events.clone(),
        acked_events: AckedEvents::spawn(events, &settings.redis_namespace, ACK_PATIENCE),
        products: ProductCache::new(conn.clone(), &settings.redis_namespace),
        queues: JobQueues::new(conn, &settings.redis_namespace),
        mailer,
        in_hand: in_hand.clone(),
    });

    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        if let Err(e) = shutdown.await {
            tracing::error!(error = %e, "cannot listen for shutdown signals");
        }
        on_signal.cancel();
    });
    let upkeep = maintenance::spawn(ctx.clone(), stop.clone());

    let instance = format!("dispatch-worker-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let kinds: Vec<String> = settings
        .worker_kinds
        .iter()
        .map(|k| format!("{k}×{}", settings.worker_concurrency.for_kind(*k)))
        .collect();
    tracing::info!(%instance, kinds = %kinds.join(", "), "dispatch-worker started");
    let beats =
        heartbeat::spawn(instance.clone(), settings.clone(), registry_conn, in_hand, stop.clone());
    health.starting();
    let outcome = loop {
        let channels = ctx
            .settings
            .worker_kinds
            .iter()
            .map(|&kind| ctx.queues.announcement_channel(kind))
            .collect();
        let subscribed = tokio::select! {
            subscribed = wake::Announcements::subscribe(&client, channels, &stop) => subscribed?,
            _ = health.beyond_recovery_limit() => break Err(gave_up(&health)),
        };
        let Some(announcements) = subscribed else {
            break Ok(());
        };
        // The consumers' first fetch must find a backlog it can take.
        maintenance::promote_backlogs(&ctx).await;
        let failed = Arc::new(tokio::sync::Notify::new());
        let monitor = watched(monitor(&instance, &ctx, &announcements)?, &health, &failed);
        let control = monitor.context();
        let running = monitor.run();
        tokio::pin!(running);
        let outcome = tokio::select! {
            outcome = &mut running => outcome,
            _ = failed.notified() => {
                // The others finish the jobs in hand; then all are built anew, on a new
                // subscription, and register again with whatever Redis now holds.
                let _ = control.shutdown();
                running.await
            }
            _ = stop.cancelled() => {
                let _ = control.shutdown();
                running.await
            }
        };
        health.down();
        if stop.is_cancelled() {
            break outcome.context("worker monitor");
        }
        // Rebuilt under the same names, so their unfinished tasks are taken back at once.
        tracing::error!(error = ?outcome, "consumers stopped; rebuilding them in {RESTART_AFTER:?}");
        tokio::select! {
            _ = stop.cancelled() => break Ok(()),
            _ = health.beyond_recovery_limit() => break Err(gave_up(&health)),
            _ = tokio::time::sleep(RESTART_AFTER) => {}
        }
    };
    stop.cancel();
    let _ = upkeep.await;
    let _ = beats.await;
    tracing::info!("dispatch-worker stopped");
    outcome
}

/// The consumers are up once every worker of `monitor` has started; one that fails (apalis
/// ends a worker whose backend failed: Redis flushed, restarted or unreachable) brings them
/// all down and wakes `failed`, so the loop in `run` rebuilds them. apalis's own restart
/// would reuse the same connection, which a restarted Redis has closed for good.
fn watched(
    monitor: Monitor,
    health: &Arc<ConsumerHealth>,
    failed: &Arc<tokio::sync::Notify>,
) -> Monitor {
    let expected = monitor.context().workers().len();
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let on_start = health.clone();
    let on_failure = (health.clone(), failed.clone());
    monitor
        .on_event(move |_, event| {
            if matches!(event, Event::Start)
                && started.fetch_add(1, std::sync::atomic::Ordering::AcqRel) + 1 == expected
            {
                on_start.up();
            }
        })
        .should_restart(move |worker, error| {
            tracing::error!(worker = %worker.name(), %error, "a consumer failed");
            on_failure.0.down();
            on_failure.1.notify_one();
            false
        })
}

fn gave_up(health: &ConsumerHealth) -> anyhow::Error {
    anyhow::anyhow!(
        "the consumers could not be rebuilt within {:?} (DISPATCH_WORKER_RECOVERY_LIMIT)",
        health.recovery_limit()
    )
}

/// One apalis worker per handled kind, each on its own queue.
fn monitor(
    instance: &str,
    ctx: &Arc<JobContext>,
    announcements: &wake::Announcements,
) -> anyhow::Result<Monitor> {
    let (min_backoff, max_backoff) = runner::backoff_bounds();
    let backoff = ExponentialBackoffMaker::new(min_backoff, max_backoff, 0.5, HasherRng::default())
        .context("retry backoff")?;
    let retries = ctx.settings.job_max_attempts.saturating_sub(1) as usize;
    let mut monitor = Monitor::new().shutdown_timeout(SHUTDOWN_GRACE);
    for &kind in &ctx.settings.worker_kinds {
        let ctx = ctx.clone();
        let concurrency = ctx.settings.worker_concurrency.for_kind(kind);
        let backoff = backoff.clone();
        let name = format!("{instance}-{}", kind.as_str());
        let config = ctx.queues.consumer_config(kind, concurrency);
        let poll = ctx.settings.worker_poll;
        let backend = announcements
            .storage(&ctx.queues.announcement_channel(kind), config, poll, ctx.acked_events.clone())
            .context("job queue")?;
        monitor = monitor.register(move |_restarts| {
            WorkerBuilder::new(name.clone())
                .backend(backend.clone())
                .data(ctx.clone())
                .data(kind)
                .concurrency(concurrency)
                .retry(RetryPolicy::retries(retries).with_backoff(backoff.clone().make_backoff()))
                .build(runner::execute)
        });
    }
    // The schedule runs where daily_mail jobs run, so an image-only worker stays just that.
    let runs_daily_mail = ctx.settings.worker_kinds.contains(&JobKind::DailyMail);
    if let Some(cron) = ctx.settings.daily_mail_schedule.clone().filter(|_| runs_daily_mail) {
        let ctx = ctx.clone();
        let name = format!("{instance}-{}-schedule", schedule::DAILY_MAIL);
        monitor = monitor.register(move |_restarts| {
            WorkerBuilder::new(name.clone())
                .backend(CronScheduler::new(cron.clone()).with_timezone(ctx.settings.daily_mail_tz))
                .data(ctx.clone())
                .retry(RetryPolicy::retries(retries).with_backoff(backoff.clone().make_backoff()))
                .build(schedule::fire_daily_mail)
        });
    }
    Ok(monitor)
}

async fn schema_ready(pool: &db::DbPool) -> Result<(), db::DbError> {
    use diesel_async::RunQueryDsl;
    let mut conn = pool.get().await?;
    diesel::sql_query("SELECT 1 FROM jobs LIMIT 1").execute(&mut conn).await?;
    Ok(())
}

pub async fn shutdown_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: finishing jobs in hand"),
        r = tokio::signal::ctrl_c() => { r?; tracing::info!("Ctrl-C: finishing jobs in hand") }
    }
    Ok(())
}
