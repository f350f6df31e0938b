//! `dispatch-drain-bench`: how fast one worker empties a queue of registrations.
//!
//! `fill --jobs N` queues N registration jobs the way the API does (a `jobs` row, then the
//! message in Redis), all carrying one password hash computed once, so the queue fills in
//! seconds rather than at the hashing rate. Run it with no worker up. `await --jobs N`
//! then waits until every one of them has succeeded and prints the drain rate, from the
//! first job's finish to the last's (the rows' own `finished_at`), so the worker's
//! start-up is not counted. `sweep` then runs once what the worker's upkeep runs each minute
//! to forget the finished tasks in Redis, so that its commands can be counted with the
//! job's. All read the same environment as the binaries.

use std::time::{Duration, Instant};

use anyhow::bail;
use clap::{Parser, Subcommand};
use diesel::dsl::{count_star, max, min};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use dispatch_shared::auth::argon2id;
use dispatch_shared::config::Settings;
use dispatch_shared::db::schema::jobs::dsl;
use dispatch_shared::jobs::register_user::RegisterUserPayload;
use dispatch_shared::jobs::{JobKind, JobQueues, JobStatus};
use dispatch_shared::repo::jobs;
use futures::stream::{self, StreamExt, TryStreamExt};
use uuid::Uuid;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    step: Step,
}

#[derive(Subcommand)]
enum Step {
    /// Queues N registrations (no worker should be running).
    Fill {
        #[arg(long)]
        jobs: usize,
        /// Names this run's jobs (their `request_id`), so `await` counts only them.
        #[arg(long)]
        run: String,
    },
    /// Waits for the run's N registrations to succeed and prints the drain rate.
    Await {
        #[arg(long)]
        jobs: usize,
        #[arg(long)]
        run: String,
        /// Gives up after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Forgets what Redis holds of the finished registrations, as the worker's upkeep does.
    Sweep,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let db = dispatch_shared::db::build_pool(&settings.database_url, 16);
    match Args::parse().step {
        Step::Fill { jobs, run } => fill(&settings, &db, jobs, &request_id(&run)).await,
        Step::Await { jobs, run, timeout } => {
            wait_for(&db, jobs, &request_id(&run), Duration::from_secs(timeout)).await
        }
        Step::Sweep => {
            let forgotten = queues(&settings).await?.vacuum(JobKind::RegisterUser).await?;
            println!("swept {forgotten} finished tasks from Redis");
            Ok(())
        }
    }
}

async fn queues(settings: &Settings) -> anyhow::Result<JobQueues> {
    let client = redis::Client::open(settings.redis_url.as_str())?;
    let conn = dispatch_shared::redis_conn::connect(&client).await?;
    Ok(JobQueues::new(conn, &settings.redis_namespace))
}

fn request_id(run: &str) -> String {
    format!("drain-{run}")
}

async fn fill(
    settings: &Settings,
    db: &dispatch_shared::db::DbPool,
    count: usize,
    run: &str,
) -> anyhow::Result<()> {
    let queues = queues(settings).await?;
    let password_hash = argon2id::hash(b"drain-bench-password").map_err(anyhow::Error::msg)?;
    let names = Uuid::new_v4().simple().to_string();
    let started = Instant::now();
    stream::iter(0..count)
        .map(|n| {
            let payload = RegisterUserPayload {
                user_id: Uuid::new_v4(),
                username: format!("drain{}{n}", &names[..8]),
                email: format!("drain{}{n}@example.com", &names[..8]),
                first_name: "Drain".into(),
                last_name: "Bench".into(),
                password_hash: password_hash.clone(),
                first_session: None,
            };
            let (db, queues, run) = (db.clone(), queues.clone(), run.to_owned());
            async move {
                let payload = serde_json::to_string(&payload)?;
                let job =
                    jobs::new_job(JobKind::RegisterUser, None, Some(payload), Some(run.to_owned()));
                let id = job.id.0;
                jobs::insert(&mut *db.get().await?, &job).await?;
                queues.push(JobKind::RegisterUser, id).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(16)
        .try_collect::<()>()
        .await?;
    println!("queued {count} registrations in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

async fn wait_for(
    db: &dispatch_shared::db::DbPool,
    count: usize,
    run: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let succeeded = || {
        dsl::jobs
            .filter(dsl::kind.eq(JobKind::RegisterUser.as_str()))
            .filter(dsl::status.eq(JobStatus::Succeeded.as_str()))
            .filter(dsl::request_id.eq(run))
    };
    loop {
        let mut conn = db.get().await?;
        let done: i64 = succeeded().select(count_star()).first(&mut conn).await?;
        if done as usize >= count {
            let (first, last) = succeeded()
                .select((min(dsl::finished_at), max(dsl::finished_at)))
                .first::<(Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>)>(&mut conn)
                .await?;
            let (Some(first), Some(last)) = (first, last) else {
                bail!("succeeded jobs carry no finish time");
            };
            let seconds = (last - first).as_seconds_f64().max(1e-6);
            println!(
                "drained {done} registrations in {seconds:.2} s (first finish to last): {:.0} jobs/s",
                (done - 1) as f64 / seconds
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {done} of {count} registrations succeeded in time");
        }
        drop(conn);
        // Polls the outcome, which is what is measured; the rate comes from the rows.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
