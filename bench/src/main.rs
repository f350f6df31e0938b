//! `dispatch-bench <scenario>` against a running API: prints throughput and latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

mod fanout;
mod listener;

#[derive(Clone, Copy, ValueEnum)]
enum Scenario {
    /// Registrations with `Prefer: wait` (hashing + a job round trip through the worker).
    Register,
    /// Authenticated profile reads (token check + user lookup).
    Profile,
    /// Logins (Argon2 verification).
    Login,
    /// `GET /api/v1/tasks/{id}/` of one of the user's 100 tasks.
    TaskGet,
    /// `GET /api/v1/tasks/` (a page of 20 of the user's 100 tasks).
    TaskList,
    /// `POST /api/v1/tasks/` (an insert and its live event).
    TaskCreate,
    /// Task-stream sockets over several instances and writers (see `fanout.rs`).
    Fanout,
    /// One of `fanout`'s listener processes (started by it).
    FanoutListen,
    /// Registrations followed as a client does: 202, then the job's WebSocket to
    /// `succeeded`. The latency printed is the pipeline's own: from the 202 to the last
    /// message (the hashing happens before the 202).
    Pipeline,
    /// Listens to the stream of the user in `--seed-file` while another client creates
    /// tasks: says `ready` once subscribed, then, once no event has come for 3 s, how many
    /// `task_create` events arrived.
    Listen,
    /// Registers a user with 100 tasks for wrk (`bench/wrk/tasks.lua`) and writes the seed
    /// file: the access token on the first line, then one task id per line.
    Seed,
}

#[derive(Parser)]
struct Args {
    scenario: Scenario,
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    base: String,
    #[arg(long, default_value_t = 1000)]
    requests: usize,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// fanout: more instances' base URLs, comma-separated (`--base` is the first).
    #[arg(long, value_delimiter = ',')]
    more_bases: Vec<String>,
    /// fanout: the API processes whose memory is measured.
    #[arg(long, value_delimiter = ',')]
    api_pids: Vec<u32>,
    #[arg(long, default_value_t = 2000)]
    sockets: usize,
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// fanout: the listener processes the sockets are spread over.
    #[arg(long, default_value_t = 1)]
    processes: usize,
    /// fanout: writes per second (default: as fast as the writers go).
    #[arg(long)]
    rate: Option<u32>,
    /// fanout-listen: the first of its sockets in the plan's numbering.
    #[arg(long, default_value_t = 0)]
    first: usize,
    /// fanout-listen: the users' access tokens, one per line.
    #[arg(long, default_value = "target/bench-tokens.txt")]
    tokens_file: std::path::PathBuf,
    /// seed: the file written.
    #[arg(long, default_value = "target/bench-seed.txt")]
    seed_file: std::path::PathBuf,
}

async fn seed_tasks(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let r = client
            .post(format!("{base}/api/v1/tasks/"))
            .bearer_auth(token)
            .json(&json!({"title": format!("seed {i}"), "description": "benchmark task"}))
            .send()
            .await?;
        if r.status() != 201 {
            bail!("task create answered {}", r.status());
        }
        let task: Value = r.json().await?;
        ids.push(task["id"].as_str().context("task id")?.to_owned());
    }
    Ok(ids)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

pub(crate) async fn one_user(
    client: &reqwest::Client,
    base: &str,
) -> anyhow::Result<(String, String)> {
    let name = format!("bench_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let password = "bench-password-1".to_owned();
    let r = client
        .post(format!("{base}/api/v1/auth/register/"))
        .header("Prefer", "wait=30")
        .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": password}))
        .send()
        .await?;
    if r.status() != 201 {
        bail!("registration answered {}", r.status());
    }
    let body: Value = r.json().await?;
    let token = body["tokens"]["access"].as_str().context("access token")?.to_owned();
    Ok((name, token))
}

/// One registration through the job pipeline; the time from its 202 to `succeeded` on
/// the job socket.
async fn follow_registration(client: &reqwest::Client, base: &str) -> anyhow::Result<Duration> {
    use tokio_tungstenite::tungstenite::Message;
    let name = format!("pipe_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let r = client
        .post(format!("{base}/api/v1/auth/register/"))
        .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": "bench-password-1"}))
        .send()
        .await?;
    if r.status() != 202 {
        bail!("registration answered {}", r.status());
    }
    let accepted: Value = r.json().await?;
    let accepted_at = Instant::now();
    let ws_url = format!(
        "{}{}",
        base.replacen("http", "ws", 1),
        accepted["ws_url"].as_str().context("ws_url")?
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await?;
    while let Some(message) = socket.next().await {
        if let Message::Text(text) = message? {
            let job: Value = serde_json::from_str(&text)?;
            match job["status"].as_str() {
                Some("succeeded") => return Ok(accepted_at.elapsed()),
                Some("failed") => bail!("job failed: {}", job["error"]),
                _ => {}
            }
        }
    }
    bail!("the job socket closed before the job finished")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let base = Arc::new(args.base.clone());
    let mut bases = vec![args.base.clone()];
    bases.extend(args.more_bases.iter().filter(|b| !b.is_empty()).cloned());
    match args.scenario {
        Scenario::Fanout => {
            let plan = fanout::Plan {
                bases,
                api_pids: args.api_pids.clone(),
                users: args.users,
                sockets: args.sockets,
                writers: args.concurrency,
                writes: args.requests,
                processes: args.processes,
                rate: args.rate,
            };
            return fanout::run(&client, plan).await;
        }
        Scenario::Listen => {
            let seed = std::fs::read_to_string(&args.seed_file).context("the seed file")?;
            let token = seed.lines().next().context("a token in the seed file")?;
            let mut listener = listener::Listener::open(&client, &args.base, token).await?;
            println!("ready");
            let received = listener.settled(Duration::from_secs(3)).await;
            println!("{received}");
            return Ok(());
        }
        Scenario::FanoutListen => {
            let share = fanout::Share {
                bases,
                tokens_file: args.tokens_file.clone(),
                users: args.users,
                first: args.first,
                sockets: args.sockets,
                writes: args.requests,
            };
            return fanout::listen(share).await;
        }
        _ => {}
    }
    let (name, token) = match args.scenario {
        Scenario::Pipeline => (String::new(), String::new()),
        _ => one_user(&client, &base).await?,
    };
    let tasks = match args.scenario {
        Scenario::TaskGet | Scenario::TaskList | Scenario::Seed => {
            seed_tasks(&client, &base, &token, 100).await?
        }
        _ => Vec::new(),
    };
    if let Scenario::Seed = args.scenario {
        let lines: Vec<&str> =
            std::iter::once(token.as_str()).chain(tasks.iter().map(String::as_str)).collect();
        std::fs::write(&args.seed_file, lines.join("\n") + "\n")
            .with_context(|| format!("writing {}", args.seed_file.display()))?;
        return Ok(());
    }
    let mut listener = match args.scenario {
        Scenario::TaskCreate => Some(listener::Listener::open(&client, &base, &token).await?),
        _ => None,
    };
    let tasks = Arc::new(tasks);
    let token = Arc::new(token);
    let name = Arc::new(name);

    let started = Instant::now();
    let results: Vec<(bool, Duration)> = stream::iter(0..args.requests)
        .map(|n| {
            let client = client.clone();
            let base = base.clone();
            let token = token.clone();
            let name = name.clone();
            let tasks = tasks.clone();
            async move {
                let t = Instant::now();
                if let Scenario::Pipeline = args.scenario {
                    return match follow_registration(&client, &base).await {
                        Ok(latency) => (true, latency),
                        Err(_) => (false, t.elapsed()),
                    };
                }
                let get =
                    |path: String| client.get(format!("{base}{path}")).bearer_auth(token.as_str());
                let ok = match args.scenario {
                    Scenario::Register => one_user(&client, &base).await.is_ok(),
                    Scenario::Profile => answers(get("/api/v1/auth/profile/".into()), 200).await,
                    Scenario::Login => {
                        let login =
                            json!({"username": name.as_str(), "password": "bench-password-1"});
                        let request =
                            client.post(format!("{base}/api/v1/auth/login/")).json(&login);
                        answers(request, 200).await
                    }
                    Scenario::TaskGet => {
                        answers(get(format!("/api/v1/tasks/{}/", tasks[n % tasks.len()])), 200)
                            .await
                    }
                    Scenario::TaskList => answers(get("/api/v1/tasks/".into()), 200).await,
                    Scenario::TaskCreate => {
                        let task = json!({"title": format!("bench {n}")});
                        let request = client
                            .post(format!("{base}/api/v1/tasks/"))
                            .bearer_auth(token.as_str())
                            .json(&task);
                        answers(request, 201).await
                    }
                    Scenario::Fanout
                    | Scenario::FanoutListen
                    | Scenario::Listen
                    | Scenario::Pipeline
                    | Scenario::Seed => false,
                };
                (ok, t.elapsed())
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let failures = results.iter().filter(|(ok, _)| !ok).count();
    let mut latencies: Vec<Duration> = results.into_iter().map(|(_, d)| d).collect();
    latencies.sort();
    if let Some(listener) = listener.as_mut() {
        let created = args.requests - failures;
        let received = listener.received(created, Duration::from_secs(10)).await;
        println!("task-create events: {received} of {created} creates reached a socket listening to their owner's stream");
    }
    println!(
        "{:<11} {:>6} req  c={:<3} {:>9.1} req/s  p50 {:>8.2?}  p95 {:>8.2?}  p99 {:>8.2?}  errors {}",
        match args.scenario {
            Scenario::Register => "register",
            Scenario::Profile => "profile",
            Scenario::Login => "login",
            Scenario::TaskGet => "task-get",
            Scenario::TaskList => "task-list",
            Scenario::TaskCreate => "task-create",
            Scenario::Fanout | Scenario::FanoutListen => "fanout",
            Scenario::Listen => "listen",
            Scenario::Pipeline => "pipeline",
            Scenario::Seed => "seed",
        },
        args.requests,
        args.concurrency,
        args.requests as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        failures
    );
    Ok(())
}

/// Whether `request` was answered with `status`.
async fn answers(request: reqwest::RequestBuilder, status: u16) -> bool {
    request.send().await.is_ok_and(|r| r.status() == status)
}
