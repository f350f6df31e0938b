//! The task stream's fan-out: many sockets spread over several API instances, writers
//! creating tasks through the instances in turn. The sockets live in listener processes
//! (`fanout-listen`, this binary again), so that the client is not what limits the figure:
//! each prints every delivery's latency and its own CPU. Prints write → event latency over
//! every delivery, write → last socket per write, the client's and each instance's CPU,
//! and the API's resident memory per idle socket.
//!
//! A write's title carries its wall-clock send time, which every process on the machine
//! reads from the same clock, so a listener in another process can time the delivery.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use futures::stream::{self, StreamExt};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

pub struct Plan {
    pub bases: Vec<String>,
    pub api_pids: Vec<u32>,
    pub users: usize,
    pub sockets: usize,
    pub writers: usize,
    pub writes: usize,
    /// Listener processes the sockets are spread over.
    pub processes: usize,
    /// Writes per second, or as fast as the writers go.
    pub rate: Option<u32>,
}

/// What one listener process is given.
pub struct Share {
    pub bases: Vec<String>,
    pub tokens_file: PathBuf,
    pub users: usize,
    /// Its sockets are `first..first + sockets` of the plan's numbering.
    pub first: usize,
    pub sockets: usize,
    pub writes: usize,
}

fn rss_kib(pid: u32) -> u64 {
    proc_field(pid, "status", |s| {
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    })
}

/// A process's CPU time (user + system) so far, in seconds.
pub fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = pid.map_or_else(|| "self".to_owned(), |p| p.to_string());
    let ticks: u64 = std::fs::read_to_string(format!("/proc/{path}/stat"))
        .ok()
        .and_then(|s| {
            // The fields after the command's closing parenthesis; utime and stime are the
            // 14th and 15th of the whole line.
            let rest = s.rsplit_once(')')?.1.to_owned();
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    // Linux reports in USER_HZ, 100 on every architecture it runs on.
    ticks as f64 / 100.0
}

fn proc_field(pid: u32, file: &str, read: impl Fn(&str) -> Option<u64>) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok().and_then(|s| read(&s)).unwrap_or(0)
}

/// The `title` field of a task event, found without parsing the whole message: the
/// listeners read tens of thousands of events a second on the cores the API uses.
fn title_of(message: &str) -> Option<&str> {
    let start = message.find("\"title\":\"")? + "\"title\":\"".len();
    let length = message[start..].find('"')?;
    Some(&message[start..start + length])
}

fn unix_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
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

/// The deliveries one listener process expects: a probe per socket, then each write to
/// the owner of a socket it holds.
fn expected_in(share: &Share) -> (usize, usize) {
    let writes_to = |user: usize| (share.writes + share.users - 1 - user) / share.users;
    let writes: usize =
        (share.first..share.first + share.sockets).map(|s| writes_to(s % share.users)).sum();
    (share.sockets, writes)
}

/// `fanout-listen`: opens its share of sockets, says `ready`, counts one probe per socket
/// and says `probed`, then times every write's delivery. Prints `delivery <write> <µs>` per
/// delivery and `cpu <seconds>` (its CPU from `probed` to the last delivery) at the end.
pub async fn listen(share: Share) -> anyhow::Result<()> {
    let tokens: Vec<String> = std::fs::read_to_string(&share.tokens_file)
        .context("the tokens file")?
        .lines()
        .map(str::to_owned)
        .collect();
    let (probes, writes) = expected_in(&share);
    let received: Arc<Mutex<Vec<(u32, u32)>>> = Arc::new(Mutex::new(Vec::with_capacity(writes)));
    let (probed, mut probe_count) = watch::channel(0usize);
    let (delivered, mut delivery_count) = watch::channel(0usize);
    let (probed, delivered) = (Arc::new(probed), Arc::new(delivered));
    for s in share.first..share.first + share.sockets {
        let base = &share.bases[s % share.bases.len()];
        let token = tokens.get(s % share.users).context("fewer tokens than users")?;
        let url = format!("{}/ws/tasks/?token={token}", base.replacen("http://", "ws://", 1));
        let (mut socket, _) =
            tokio_tungstenite::connect_async(url).await.with_context(|| format!("socket {s}"))?;
        let (received, probed, delivered) = (received.clone(), probed.clone(), delivered.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else { continue };
                let at = unix_micros();
                let Some(title) = title_of(&text) else { continue };
                if title.starts_with("probe") {
                    probed.send_modify(|n| *n += 1);
                    continue;
                }
                // "w<write> <sent µs>"
                let parsed = title.strip_prefix('w').and_then(|t| t.split_once(' ')).and_then(
                    |(w, sent)| Some((w.parse::<u32>().ok()?, sent.parse::<u64>().ok()?)),
                );
                if let Some((write, sent)) = parsed {
                    if let Ok(mut r) = received.lock() {
                        r.push((write, at.saturating_sub(sent) as u32));
                    }
                    delivered.send_modify(|n| *n += 1);
                }
            }
        });
    }
    println!("ready");
    if wait_count(&mut probe_count, probes, Duration::from_secs(60)).await < probes {
        bail!("not every socket heard its probe");
    }
    let cpu_from = cpu_seconds(None);
    println!("probed");
    // Waits while deliveries keep arriving; a quiet 10 s ends the wait.
    let mut seen = 0;
    while seen < writes {
        let now = wait_count(&mut delivery_count, writes, Duration::from_secs(10)).await;
        if now == seen {
            break;
        }
        seen = now;
    }
    let cpu = cpu_seconds(None) - cpu_from;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (write, micros) in received.lock().map(|r| r.clone()).unwrap_or_default() {
        writeln!(out, "delivery {write} {micros}")?;
    }
    writeln!(out, "cpu {cpu:.3}")?;
    out.flush()?;
    Ok(())
}

struct Listener {
    child: Child,
    lines: tokio::io::Lines<BufReader<ChildStdout>>,
}

impl Listener {
    fn spawn(
        plan: &Plan,
        tokens_file: &std::path::Path,
        first: usize,
        sockets: usize,
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("fanout-listen")
            .args(["--base", &plan.bases[0]])
            .args(["--more-bases", &plan.bases[1..].join(",")])
            .args(["--users", &plan.users.to_string()])
            .args(["--first", &first.to_string()])
            .args(["--sockets", &sockets.to_string()])
            .args(["--requests", &plan.writes.to_string()])
            .arg("--tokens-file")
            .arg(tokens_file)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting a listener process")?;
        let stdout = child.stdout.take().context("the listener's output")?;
        Ok(Self { child, lines: BufReader::new(stdout).lines() })
    }

    async fn expect(&mut self, word: &str) -> anyhow::Result<()> {
        match self.lines.next_line().await? {
            Some(line) if line == word => Ok(()),
            other => bail!("a listener said {other:?} instead of {word:?}"),
        }
    }
}

#[derive(Default)]
struct Heard {
    /// Every delivery's latency.
    all: Vec<u32>,
    /// Per write, its slowest delivery.
    last: HashMap<u32, u32>,
    client_cpu: f64,
}

impl Heard {
    async fn read(&mut self, listener: &mut Listener) -> anyhow::Result<()> {
        while let Some(line) = listener.lines.next_line().await? {
            let mut words = line.split(' ');
            match (words.next(), words.next(), words.next()) {
                (Some("delivery"), Some(write), Some(micros)) => {
                    let (write, micros): (u32, u32) = (write.parse()?, micros.parse()?);
                    self.all.push(micros);
                    let last = self.last.entry(write).or_default();
                    *last = (*last).max(micros);
                }
                (Some("cpu"), Some(seconds), None) => self.client_cpu += seconds.parse::<f64>()?,
                _ => bail!("a listener said {line:?}"),
            }
        }
        listener.child.wait().await?;
        Ok(())
    }
}

fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    let index = ((sorted.len().max(1) - 1) as f64 * p).round() as usize;
    sorted.get(index).copied().unwrap_or(0) as f64 / 1000.0
}

pub async fn run(client: &reqwest::Client, plan: Plan) -> anyhow::Result<()> {
    let registered: Vec<anyhow::Result<(String, String)>> = stream::iter(0..plan.users)
        .map(|_| crate::one_user(client, &plan.bases[0]))
        .buffer_unordered(16)
        .collect()
        .await;
    let mut tokens = Vec::with_capacity(plan.users);
    for r in registered {
        tokens.push(r?.1);
    }
    let tokens_file = std::env::temp_dir().join(format!("dispatch-fanout-{}", std::process::id()));
    std::fs::write(&tokens_file, tokens.join("\n") + "\n")?;
    let before: Vec<u64> = plan.api_pids.iter().map(|p| rss_kib(*p)).collect();

    let processes = plan.processes.clamp(1, plan.sockets.max(1));
    let mut listeners = Vec::with_capacity(processes);
    for p in 0..processes {
        let first = plan.sockets * p / processes;
        let last = plan.sockets * (p + 1) / processes;
        listeners.push(Listener::spawn(&plan, &tokens_file, first, last - first)?);
    }
    for listener in &mut listeners {
        listener.expect("ready").await?;
    }
    let _ = std::fs::remove_file(&tokens_file);
    for (u, token) in tokens.iter().enumerate() {
        create(client, &plan.bases[u % plan.bases.len()], token, &format!("probe {u}")).await?;
    }
    for listener in &mut listeners {
        listener.expect("probed").await?;
    }
    let idle: Vec<u64> = plan.api_pids.iter().map(|p| rss_kib(*p)).collect();
    let api_cpu_before: Vec<f64> = plan.api_pids.iter().map(|p| cpu_seconds(Some(*p))).collect();
    let own_cpu_before = cpu_seconds(None);

    let started = Instant::now();
    let tokens = Arc::new(tokens);
    let results: Vec<anyhow::Result<()>> = stream::iter(0..plan.writes)
        .map(|w| {
            let (client, tokens) = (client.clone(), tokens.clone());
            let base = plan.bases[w % plan.bases.len()].clone();
            async move {
                if let Some(rate) = plan.rate {
                    let due = started + Duration::from_secs_f64(w as f64 / f64::from(rate.max(1)));
                    tokio::time::sleep_until(due.into()).await;
                }
                let title = format!("w{w} {}", unix_micros());
                create(&client, &base, &tokens[w % tokens.len()], &title).await
            }
        })
        .buffer_unordered(plan.writers)
        .collect()
        .await;
    let write_time = started.elapsed();
    let errors = results.iter().filter(|r| r.is_err()).count();
    let mut heard = Heard::default();
    for listener in &mut listeners {
        heard.read(listener).await?;
    }
    let api_cpu: Vec<f64> = plan
        .api_pids
        .iter()
        .zip(&api_cpu_before)
        .map(|(p, before)| cpu_seconds(Some(*p)) - before)
        .collect();
    let writer_cpu = cpu_seconds(None) - own_cpu_before;

    let per_user =
        |user: usize| plan.sockets / plan.users + usize::from(user < plan.sockets % plan.users);
    let expected: usize = (0..plan.writes).map(|w| per_user(w % plan.users)).sum();
    heard.all.sort_unstable();
    let mut last: Vec<u32> = heard.last.values().copied().collect();
    last.sort_unstable();
    let pace =
        plan.rate.map_or_else(|| "as fast as they go".to_owned(), |r| format!("{r} writes/s"));
    println!(
        "fanout      {} sockets over {} instances, {} users, {} writers ({pace}): {} writes in {:.1?} ({:.0} writes/s), {} of {} deliveries, write errors {errors}",
        plan.sockets,
        plan.bases.len(),
        plan.users,
        plan.writers,
        plan.writes,
        write_time,
        plan.writes as f64 / write_time.as_secs_f64(),
        heard.all.len(),
        expected,
    );
    println!(
        "fanout      write → event p50 {:.1} ms, p99 {:.1} ms; write → last socket p50 {:.1} ms, p99 {:.1} ms",
        percentile_ms(&heard.all, 0.50),
        percentile_ms(&heard.all, 0.99),
        percentile_ms(&last, 0.50),
        percentile_ms(&last, 0.99),
    );
    let seconds = write_time.as_secs_f64();
    println!(
        "fanout      the client: {} listener processes {:.2} s of CPU, the writer {:.2} s, over {seconds:.1} s ({:.2} cores)",
        processes,
        heard.client_cpu,
        writer_cpu,
        (heard.client_cpu + writer_cpu) / seconds
    );
    let per_instance = plan.sockets as f64 / plan.api_pids.len().max(1) as f64;
    let deliveries_each = heard.all.len() as f64 / plan.api_pids.len().max(1) as f64;
    for (i, pid) in plan.api_pids.iter().enumerate() {
        let grown = idle[i].saturating_sub(before[i]) as f64;
        println!(
            "fanout      api pid {pid}: RSS {:.1} MiB before sockets, {:.1} MiB with {per_instance:.0} idle sockets: {:.1} KiB per socket; {:.2} s of CPU over the writes, {:.1} µs per delivered event (its creates included)",
            before[i] as f64 / 1024.0,
            idle[i] as f64 / 1024.0,
            grown / per_instance,
            api_cpu[i],
            api_cpu[i] * 1e6 / deliveries_each.max(1.0),
        );
    }
    Ok(())
}
