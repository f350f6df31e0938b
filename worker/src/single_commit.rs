//! A job whose every effect is rows in MySQL (a registration) is taken, run and finished in
//! one transaction. The general way commits three times (the claim, the handler's writes, the
//! outcome), and each commit waits for MariaDB's log flush: on the pipeline's path those
//! flushes were most of its latency. Here there is one.
//!
//! Pollers see such a job go from `queued` straight to its outcome. A run that dies midway
//! leaves no trace: the job is still `queued` with its `attempts` unchanged, and the upkeep's
//! requeue (or apalis's orphan recovery) delivers it again. A transient failure rolls back and
//! the delivery takes the general way (`crate::runner`), which counts attempts and retries.
//!
//! Deliveries that arrive together share one such transaction (`SharedCommits`). Its
//! connections have `autocommit` off, so the transaction needs no `BEGIN` of its own
//! (`db::implicit_begin`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::AsyncMysqlConnection;
use dispatch_core::batching::{next_batch, Asked, Batcher};
use dispatch_shared::db::{self, implicit_begin, DbPool, SessionSettings};
use dispatch_shared::jobs::JobKind;
use dispatch_shared::models::{now_naive, JobRow};
use dispatch_shared::repo::jobs;
use tokio::sync::{mpsc, Semaphore};
use uuid::Uuid;

use crate::context::JobContext;
use crate::failure::JobFailure;
use crate::handlers;

/// A run that committed.
pub struct Finished {
    /// The row as written.
    pub row: JobRow,
    pub kind: JobKind,
    pub elapsed: Duration,
    /// The code and message of a permanent failure; `None` when the job succeeded.
    pub failure: Option<(&'static str, String)>,
}

pub enum Delivery {
    Finished(Box<Finished>),
    /// The job is gone, finished, or held by another run: nothing to do.
    NotClaimable,
}

/// Why nothing was committed; the general way takes the delivery over.
#[derive(Debug, thiserror::Error)]
pub enum RolledBack {
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("the job's kind is unknown or not one that runs in one transaction")]
    OtherKind,
    #[error("transient failure: {0}")]
    Transient(String),
}

/// A delivery waiting for the next shared transaction.
pub struct Delivering {
    pub ctx: Arc<JobContext>,
    pub job_id: Uuid,
}

type Outcome = Result<Delivery, RolledBack>;

/// Deliveries that arrive while earlier transactions are at the database share the next
/// one, so a backlog pays one commit (and one log flush) per batch instead of per job. Each
/// delivery is answered after the shared commit. If the shared transaction rolls back, each
/// delivery of the batch runs in a transaction of its own, so only the one that caused it
/// takes the general way.
#[derive(Clone)]
pub struct SharedCommits {
    queue: Batcher<Delivering, Outcome>,
}

/// The most deliveries one transaction carries.
const MAX_BATCH: usize = 16;

impl SharedCommits {
    /// Runs at most `in_flight` transactions at once, each on a connection of its own to
    /// `database_url` (a pool whose sessions commit explicitly).
    pub fn spawn(database_url: &str, in_flight: usize) -> Self {
        let db =
            db::build_pool_with(database_url, in_flight as u32, SessionSettings::EXPLICIT_COMMITS);
        Self { queue: Batcher::spawn("one-transaction job runner".into(), db, in_flight, dispatch) }
    }

    pub async fn deliver(&self, ctx: Arc<JobContext>, job_id: Uuid) -> Outcome {
        self.queue
            .ask(Delivering { ctx, job_id })
            .await
            .map_err(|stopped| RolledBack::Unavailable(stopped.to_string()))?
    }
}

async fn dispatch(
    db: DbPool,
    mut incoming: mpsc::Receiver<Asked<Delivering, Outcome>>,
    slots: Arc<Semaphore>,
) {
    while let Some((batch, slot)) = next_batch(&mut incoming, &slots, MAX_BATCH).await {
        let db = db.clone();
        // Its own task: a delivery that goes away cannot interrupt a transaction others share.
        tokio::spawn(async move {
            run_batch(&db, batch).await;
            drop(slot);
        });
    }
}

async fn run_batch(db: &DbPool, batch: Vec<Asked<Delivering, Outcome>>) {
    let mut conn = match db.get().await {
        Ok(conn) => conn,
        Err(e) => {
            let cause = e.to_string();
            for asked in batch {
                let _ = asked.reply.send(Err(RolledBack::Unavailable(cause.clone())));
            }
            return;
        }
    };
    if batch.len() > 1 {
        let deliveries: Vec<&Delivering> = batch.iter().map(|asked| &asked.question).collect();
        let together =
            implicit_begin::transaction(&mut conn, async |conn| run(conn, &deliveries).await).await;
        match together {
            Ok(runs) => {
                for (asked, run) in batch.into_iter().zip(runs) {
                    // The receiver is gone only if its delivery was dropped.
                    let _ = asked.reply.send(Ok(run));
                }
                return;
            }
            Err(e) => tracing::debug!(
                error = %e,
                jobs = batch.len(),
                "a shared job transaction rolled back; running each job alone"
            ),
        }
    }
    for asked in batch {
        let alone = implicit_begin::transaction(&mut conn, async |conn| {
            run(conn, &[&asked.question]).await
        })
        .await
        .map(|mut runs| runs.pop().unwrap_or(Delivery::NotClaimable));
        let _ = asked.reply.send(alone);
    }
}

/// Takes, runs and finishes these jobs inside the caller's transaction: one delivery each,
/// in their order. Their rows are locked together, and jobs of a kind that can share a
/// statement (registrations) insert their effects together when the database takes them
/// all; otherwise each runs on its own.
async fn run(
    conn: &mut AsyncMysqlConnection,
    deliveries: &[&Delivering],
) -> Result<Vec<Delivery>, RolledBack> {
    let ids: Vec<String> = deliveries.iter().map(|d| d.job_id.to_string()).collect();
    let mut locked: HashMap<Uuid, JobRow> =
        jobs::lock_for_run(conn, &ids).await?.into_iter().map(|row| (row.uuid(), row)).collect();
    let now = now_naive();
    // Per delivery, the job it runs; a second delivery of one id finds the row taken.
    let mut claims: Vec<Option<(JobKind, JobRow)>> = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        let claim = match locked.remove(&delivery.job_id) {
            Some(row) if row.claimable(now) => {
                Some((row.kind().ok_or(RolledBack::OtherKind)?, row.started(now)))
            }
            _ => None,
        };
        claims.push(claim);
    }
    let Some(ctx) = deliveries.first().map(|d| &d.ctx) else {
        return Ok(Vec::new());
    };
    let running: Vec<(JobKind, JobRow)> = claims.iter().flatten().cloned().collect();
    let started = Instant::now();
    let outcomes: Vec<Result<serde_json::Value, JobFailure>> =
        match handlers::run_together_in_transaction(conn, ctx, &running).await {
            Some(results) => results.into_iter().map(Ok).collect(),
            None => {
                let mut outcomes = Vec::with_capacity(running.len());
                for (kind, row) in &running {
                    let outcome = handlers::run_in_transaction(conn, ctx, *kind, row)
                        .await
                        .ok_or(RolledBack::OtherKind)?;
                    outcomes.push(outcome);
                }
                outcomes
            }
        };
    let elapsed = started.elapsed() / running.len().max(1) as u32;
    let mut outcomes = outcomes.into_iter();
    let mut runs = Vec::with_capacity(claims.len());
    for claim in claims {
        let Some((kind, running)) = claim else {
            runs.push(Delivery::NotClaimable);
            continue;
        };
        let (row, failure) = match outcomes.next().ok_or(RolledBack::OtherKind)? {
            Ok(result) => (running.succeeded(&result, now_naive()), None),
            Err(JobFailure::Permanent { code, message }) => {
                (running.failed(&message, code, now_naive()), Some((code, message)))
            }
            Err(JobFailure::Transient(reason)) => return Err(RolledBack::Transient(reason)),
        };
        runs.push(Delivery::Finished(Box::new(Finished { row, kind, elapsed, failure })));
    }
    let finished: Vec<JobRow> = runs
        .iter()
        .filter_map(|run| match run {
            Delivery::Finished(run) => Some(run.row.clone()),
            Delivery::NotClaimable => None,
        })
        .collect();
    match finished.as_slice() {
        [] => {}
        [row] => {
            jobs::finish(conn, row).await?;
        }
        rows => jobs::finish_many(conn, rows).await?,
    }
    Ok(runs)
}
