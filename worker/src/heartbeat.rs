//! This worker's entry in the live-worker list (see `dispatch_shared::jobs::registry`):
//! rewritten every beat while it runs, removed when it stops. The same numbers go to
//! Prometheus as `dispatch_worker_jobs_in_hand` and `dispatch_worker_concurrency{kind}`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::Utc;
use dispatch_shared::config::Settings;
use dispatch_shared::jobs::registry::{self, WorkerBeat, BEAT};
use redis::aio::ConnectionManager;
use tokio_util::sync::CancellationToken;

/// Jobs this process is running now.
#[derive(Default)]
pub struct InHand(AtomicU64);

/// Counts one job from creation to drop, however its run ends.
pub struct Held<'a>(&'a InHand);

impl InHand {
    pub fn hold(&self) -> Held<'_> {
        let now = self.0.fetch_add(1, Ordering::AcqRel) + 1;
        metrics::gauge!("dispatch_worker_jobs_in_hand").set(now as f64);
        Held(self)
    }

    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let now = self.0 .0.fetch_sub(1, Ordering::AcqRel).saturating_sub(1);
        metrics::gauge!("dispatch_worker_jobs_in_hand").set(now as f64);
    }
}

/// Beats until `stop`, then leaves the list.
pub fn spawn(
    instance: String,
    settings: Arc<Settings>,
    redis: ConnectionManager,
    in_hand: Arc<InHand>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let concurrency: BTreeMap<String, usize> = settings
        .worker_kinds
        .iter()
        .map(|&kind| (kind.as_str().to_owned(), settings.worker_concurrency.for_kind(kind)))
        .collect();
    for (kind, n) in &concurrency {
        metrics::gauge!("dispatch_worker_concurrency", "kind" => kind.clone()).set(*n as f64);
    }
    let started_at = Utc::now();
    tokio::spawn(async move {
        let mut beat = tokio::time::interval(BEAT);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = beat.tick() => {
                    let report = WorkerBeat {
                        instance: instance.clone(),
                        kinds: concurrency.keys().cloned().collect(),
                        concurrency: concurrency.clone(),
                        started_at,
                        last_seen_at: Utc::now(),
                        jobs_in_hand: in_hand.count(),
                    };
                    if let Err(e) = registry::report(&redis, &settings.redis_namespace, &report).await {
                        tracing::debug!(error = %e, "worker heartbeat not written");
                    }
                }
            }
        }
        if let Err(e) = registry::leave(&redis, &settings.redis_namespace, &instance).await {
            tracing::warn!(error = %e, "worker not removed from the live list; it expires");
        }
    })
}
