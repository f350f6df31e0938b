//! The task stream's fan-out: many sockets spread over several API instances, writers
//! creating tasks through the instances in turn; prints write → event latency over every
//! delivery and the API's resident memory per idle socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

pub struct Plan {
    pub bases: Vec<String>,
    pub api_pids: Vec<u32>,
    pub users: usize,
    pub sockets: usize,
    pub writers: usize,
    pub writes: usize,
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

type Sent = Arc<Mutex<HashMap<String, Instant>>>;

struct Deliveries {
    latencies: Mutex<Vec<Duration>>,
    count: watch::Sender<usize>,
}

pub async fn create(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    title: &str,
) -> anyhow::Result<()> {
    let r = client
        .post(format!("{base}/api/v1/tasks/"))
        .bearer_auth(token)
        .json(&json!({"title": title}))
        .send()
        .await?;
    if r.status() != 201 {
        bail!("task create answered {}", r.status());
    }
    Ok(())
}

pub async fn wait_count(
    count: &mut watch::Receiver<usize>,
    target: usize,
    timeout: Duration,
) -> usize {
    let _ = tokio::time::timeout(timeout, count.wait_for(|n| *n >= target)).await;
    let reached = *count.borrow();
    reached
}

pub async fn run(client: &reqwest::Client, plan: Plan) -> anyhow::Result<()> {
    let mut tokens = Vec::with_capacity(plan.users);
    let registered: Vec<anyhow::Result<(String, String)>> = stream::iter(0..plan.users)
        .map(|_| crate::one_user(client, &plan.bases[0]))
        .buffer_unordered(16)
        .collect()
        .await;
    for r in registered {
        tokens.push(r?.1);
    }
    let before: Vec<u64> = plan.api_pids.iter().map(|p| rss_kib(*p)).collect();

    let sent: Sent = Arc::default();
    let (count, _) = watch::channel(0usize);
    let deliveries = Arc::new(Deliveries {
        latencies: Mutex::new(Vec::with_capacity(plan.writes * plan.sockets / plan.users)),
        count,
    });
    let per_user = plan.sockets / plan.users;
    for s in 0..plan.sockets {
        let base = &plan.bases[s % plan.bases.len()];
        let token = &tokens[s % plan.users];
        let url = format!("{}/ws/tasks/?token={token}", base.replacen("http://", "ws://", 1));
        let (mut socket, _) =
            tokio_tungstenite::connect_async(url).await.with_context(|| format!("socket {s}"))?;
        let sent = sent.clone();
        let deliveries = deliveries.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message {
                    let at = Instant::now();
                    let Ok(body) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    let started =
                        body["title"].as_str().and_then(|t| sent.lock().ok()?.get(t).copied());
                    if let Some(started) = started {
                        if let Ok(mut l) = deliveries.latencies.lock() {
                            l.push(at - started);
                        }
                    }
                    deliveries.count.send_modify(|n| *n += 1);
                }
            }
        });
    }
    // Every socket is subscribed once each user's probe reached all of that user's sockets.
    let mut counter = deliveries.count.subscribe();
    for (u, token) in tokens.iter().enumerate() {
        create(client, &plan.bases[u % plan.bases.len()], token, &format!("probe {u}")).await?;
    }
    let probes = wait_count(&mut counter, plan.sockets, Duration::from_secs(30)).await;
    if probes < plan.sockets {
        bail!("only {probes} of {} sockets heard their probe", plan.sockets);
    }
    let idle: Vec<u64> = plan.api_pids.iter().map(|p| rss_kib(*p)).collect();

    let started = Instant::now();
    let tokens = Arc::new(tokens);
    let results: Vec<anyhow::Result<()>> = stream::iter(0..plan.writes)
        .map(|w| {
            let (client, tokens, sent) = (client.clone(), tokens.clone(), sent.clone());
            let base = plan.bases[w % plan.bases.len()].clone();
            async move {
                let title = format!("w{w}");
                if let Ok(mut s) = sent.lock() {
                    s.insert(title.clone(), Instant::now());
                }
                create(&client, &base, &tokens[w % tokens.len()], &title).await
            }
        })
        .buffer_unordered(plan.writers)
        .collect()
        .await;
    let write_time = started.elapsed();
    let errors = results.iter().filter(|r| r.is_err()).count();
    let expected = plan.sockets + plan.writes * per_user;
    let got = wait_count(&mut counter, expected, Duration::from_secs(30)).await;
    let mut latencies = deliveries.latencies.lock().map(|l| l.clone()).unwrap_or_default();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "fanout      {} sockets over {} instances, {} users, {} writers: {} writes in {:.1?} ({:.0} writes/s), {} of {} deliveries, write→event p50 {:.2?} p99 {:.2?}, write errors {}",
        plan.sockets,
        plan.bases.len(),
        plan.users,
        plan.writers,
        plan.writes,
        write_time,
        plan.writes as f64 / write_time.as_secs_f64(),
        got - plan.sockets,
        expected - plan.sockets,
        pct(0.50),
        pct(0.99),
        errors
    );
    let per_instance = plan.sockets as f64 / plan.api_pids.len().max(1) as f64;
    for (i, pid) in plan.api_pids.iter().enumerate() {
        let grown = idle[i].saturating_sub(before[i]) as f64;
        println!(
            "fanout      api pid {pid}: RSS {:.1} MiB before sockets, {:.1} MiB with {per_instance:.0} idle sockets: {:.1} KiB per socket",
            before[i] as f64 / 1024.0,
            idle[i] as f64 / 1024.0,
            grown / per_instance
        );
    }
    Ok(())
}
