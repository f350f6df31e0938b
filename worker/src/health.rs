//! Whether this worker's consumers are taking jobs, for its `/readyz`, its metrics and the
//! bound after which it gives up and exits (so a supervisor starts a fresh process).
//!
//! The consumers are up once every job kind's apalis worker has started on a live
//! subscription, and down from the moment one of them fails (its backend lost its
//! registration to a flushed Redis, its connection died with a restarted one) until all of
//! them run again.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct ConsumerHealth {
    /// `None` while the consumers run; since when they have not, otherwise.
    down_since: Mutex<Option<Instant>>,
    recovery_limit: Duration,
}

impl ConsumerHealth {
    /// Down at first: nothing takes jobs before the consumers have started.
    pub fn new(recovery_limit: Duration) -> Self {
        let health = Self { down_since: Mutex::new(Some(Instant::now())), recovery_limit };
        health.report(false);
        health
    }

    /// The consumers are about to be built for the first time: the recovery limit counts
    /// from now, not from the start-up waits before (the database's migrations, Redis).
    pub fn starting(&self) {
        *self.lock() = Some(Instant::now());
    }

    pub fn up(&self) {
        *self.lock() = None;
        self.report(true);
    }

    pub fn down(&self) {
        self.lock().get_or_insert_with(Instant::now);
        self.report(false);
    }

    pub fn is_up(&self) -> bool {
        self.lock().is_none()
    }

    /// Resolves once the consumers have been down for longer than the recovery limit.
    pub async fn beyond_recovery_limit(&self) {
        loop {
            let since = *self.lock();
            let check_at = match since {
                Some(since) if since.elapsed() > self.recovery_limit => return,
                Some(since) => since + self.recovery_limit + Duration::from_millis(10),
                None => Instant::now() + self.recovery_limit,
            };
            tokio::time::sleep_until(check_at).await;
        }
    }

    pub fn recovery_limit(&self) -> Duration {
        self.recovery_limit
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // The guarded value is a plain timestamp: a panic elsewhere cannot leave it torn.
        self.down_since.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn report(&self, up: bool) {
        metrics::gauge!("dispatch_worker_consumers_up").set(if up { 1.0 } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn gives_up_only_after_being_down_past_the_limit() {
        let health = ConsumerHealth::new(Duration::from_secs(60));
        assert!(!health.is_up());
        health.up();
        assert!(health.is_up());
        let waited = tokio::time::timeout(Duration::from_secs(300), health.beyond_recovery_limit());
        assert!(waited.await.is_err(), "gave up while the consumers ran");

        health.down();
        let started = Instant::now();
        health.beyond_recovery_limit().await;
        assert!(started.elapsed() >= Duration::from_secs(60));
        assert!(started.elapsed() < Duration::from_secs(61));
    }
}
