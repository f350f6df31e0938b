use std::sync::Arc;

use dispatch_shared::config::Settings;
use dispatch_shared::db::DbPool;
use dispatch_shared::events::EventPublisher;
use dispatch_shared::jobs::JobQueues;
use dispatch_shared::product_cache::ProductCache;

use crate::acked_events::AckedEvents;
use crate::heartbeat::InHand;
use crate::mail::Mailer;
use crate::single_commit::SharedCommits;

/// What every job handler may use; shared by all workers of the process.
pub struct JobContext {
    pub settings: Arc<Settings>,
    pub db: DbPool,
    pub events: EventPublisher,
    /// A one-transaction run's outcome event, sent with its task's acknowledgement.
    pub acked_events: Arc<AckedEvents>,
    pub queues: JobQueues,
    pub mailer: Mailer,
    /// Image changes show in product lists at once.
    pub products: ProductCache,
    /// Jobs running now, for the live-worker list.
    pub in_hand: Arc<InHand>,
    /// Runs the kinds whose effects are all in MySQL, several jobs to a transaction.
    pub shared_commits: SharedCommits,
}
