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
//!
//! Registrations' transactions are two round trips: the statement that locks the job rows,
//! and one compound statement (`db::compound`) with the users, their sessions, the outcomes
//! and the `COMMIT`. Their writes can wait until the end because nothing in the run reads
//! them. If the database refuses them (a name taken since the request was checked), the
//! transaction rolls back and each job runs again alone, a statement at a time, and settles
//! the refusal as its permanent failure.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::AsyncMysqlConnection;
use dispatch_core::batching::{next_batch, Asked, Batcher};
use dispatch_shared::db::compound::Statement;
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
/// delivery of the batch runs in a transaction of its own, a statement at a time, so only
/// the one that caused it takes the general way.
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

/// How a transaction's jobs send their writes.
#[derive(Clone, Copy)]
enum Writes {
    /// Held back and sent with the outcomes and the `COMMIT`, in one round trip, where the
    /// jobs' kind allows (`handlers::first_run_writes`). A refusal (a name taken since the
    /// request) rolls the whole transaction back.
    AtTheEnd,
    /// A statement at a time: each job settles a refusal itself, as its permanent failure.
    OneByOne,
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
    let deliveries: Vec<&Delivering> = batch.iter().map(|asked| &asked.question).collect();
    let started = Instant::now();
    let together = implicit_begin::transaction_ending_with(&mut conn, async |conn| {
        run(conn, &deliveries, Writes::AtTheEnd).await
    })
    .await;
    match together {
        Ok(runs) => {
            let runs = timed(runs, started);
            for (asked, run) in batch.into_iter().zip(runs) {
                // The receiver is gone only if its delivery was dropped.
                let _ = asked.reply.send(Ok(run));
            }
            return;
        }
        Err(e) => tracing::debug!(
            error = %e,
            jobs = batch.len(),
            "a job transaction rolled back; running each job alone, a statement at a time"
        ),
    }
    for asked in batch {
        let started = Instant::now();
        let alone = implicit_begin::transaction_ending_with(&mut conn, async |conn| {
            run(conn, &[&asked.question], Writes::OneByOne).await
        })
        .await
        .map(|runs| timed(runs, started).pop().unwrap_or(Delivery::NotClaimable));
        let _ = asked.reply.send(alone);
    }
}

/// Each finished run's share of the transaction's time since `started`.
fn timed(mut runs: Vec<Delivery>, started: Instant) -> Vec<Delivery> {
    let share = started.elapsed() / runs.len().max(1) as u32;
    for run in &mut runs {
        if let Delivery::Finished(run) = run {
            run.elapsed = share;
        }
    }
    runs
}

/// Takes and runs these jobs inside the caller's transaction: one delivery each, in their
/// order. Their rows are locked together. Returns the runs and the statements that end the
/// transaction (the outcomes, and the jobs' own writes if `writes` and their kind let them
/// wait), for the caller to send together with the `COMMIT`.
async fn run(
    conn: &mut AsyncMysqlConnection,
    deliveries: &[&Delivering],
    writes: Writes,
) -> Result<(Vec<Delivery>, Vec<Statement<'static>>), RolledBack> {
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
        return Ok((Vec::new(), Vec::new()));
    };
    let running: Vec<(JobKind, JobRow)> = claims.iter().flatten().cloned().collect();
    let first_run = match writes {
        Writes::AtTheEnd => handlers::first_run_writes(ctx, &running),
        Writes::OneByOne => None,
    };
    let (outcomes, mut ending): (Vec<Result<serde_json::Value, JobFailure>>, _) = match first_run {
        Some((results, writes)) => (results.into_iter().map(Ok).collect(), writes),
        None => {
            let mut outcomes = Vec::with_capacity(running.len());
            for (kind, row) in &running {
                let outcome = handlers::run_in_transaction(conn, ctx, *kind, row)
                    .await
                    .ok_or(RolledBack::OtherKind)?;
                outcomes.push(outcome);
            }
            (outcomes, Vec::new())
        }
    };
    let mut outcomes = outcomes.into_iter();
    let mut runs = Vec::with_capacity(claims.len());
    let mut finished = Vec::with_capacity(running.len());
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
        finished.push(row.clone());
        let elapsed = Duration::ZERO;
        runs.push(Delivery::Finished(Box::new(Finished { row, kind, elapsed, failure })));
    }
    if !finished.is_empty() {
        ending.push(jobs::finishing(finished));
    }
    Ok((runs, ending))
}
