//! A cancellation storm against the real binaries: two API instances, the worker paused so
//! registrations stay queued. Requests are dropped at every point the server may be in a
//! statement (a `Prefer: wait` that ends as the job watch re-reads its row, job sockets the
//! client closes while the server follows the job, clients that hang up mid-request) while
//! other clients read their own objects. Every answer that arrives is checked field by field
//! against what its caller owns: no other caller's row, no 5xx, no false 404.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dispatch_tests::process::{start_api, Binary};
use dispatch_tests::{call_at, ws, TestEnv};
use rand::Rng;
use reqwest::Method;
use serde_json::{json, Value};

/// How long the storm lasts; long enough for many thousands of dropped requests.
const STORM: Duration = Duration::from_secs(8);
/// The storm goes on past `STORM` until enough answers were checked and requests dropped
/// (a slow machine gets there later), but never past this.
const STORM_AT_MOST: Duration = Duration::from_secs(90);
const ENOUGH_CHECKED: usize = 300;
const ENOUGH_DROPPED: usize = 1_000;

struct Owner {
    token: String,
    id: String,
    username: String,
    tasks: Vec<Value>,
}

#[derive(Default)]
struct Tally {
    checked: AtomicUsize,
    dropped: AtomicUsize,
    wrong: Mutex<Vec<String>>,
    /// Registration jobs of the storm, all queued: anyone holding an id may read it.
    jobs: Mutex<Vec<String>>,
}

impl Tally {
    fn keep_going(&self, started: tokio::time::Instant) -> bool {
        let elapsed = started.elapsed();
        let enough = self.checked.load(Ordering::Relaxed) >= ENOUGH_CHECKED
            && self.dropped.load(Ordering::Relaxed) >= ENOUGH_DROPPED;
        elapsed < STORM || (!enough && elapsed < STORM_AT_MOST)
    }

    fn some_job(&self) -> Option<String> {
        let jobs = self.jobs.lock().expect("tally");
        (!jobs.is_empty()).then(|| jobs[rand::thread_rng().gen_range(0..jobs.len())].clone())
    }

    fn check(&self, ok: bool, what: impl FnOnce() -> String) {
        self.checked.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.wrong.lock().expect("tally").push(what());
        }
    }
}

/// Reads a storm registration's job, which must be that job and still queued.
async fn check_queued_job(client: &reqwest::Client, base: &str, job_id: &str, tally: &Tally) {
    let url = format!("{base}/api/v1/jobs/{job_id}/");
    let (status, job) = call_at(client, &url, Method::GET, None, None).await;
    tally.check(
        status == 200
            && job["id"] == job_id
            && job["kind"] == "register_user"
            && job["status"] == "queued",
        || format!("job {job_id}: {status} {job}"),
    );
}

fn registration(username: &str) -> Value {
    json!({
        "username": username,
        "email": format!("{username}@example.com"),
        "password": "storm-password-1",
    })
}

fn instance(bases: &[String]) -> &str {
    &bases[rand::thread_rng().gen_range(0..bases.len())]
}

/// Registrations that are held for 2 s (the job watch's re-read interval) and answered 202
/// by whichever comes first; then their job is read back.
async fn waiting_registrations(bases: Arc<Vec<String>>, tally: Arc<Tally>, lane: usize) {
    let client = reqwest::Client::new();
    let started = tokio::time::Instant::now();
    let mut n = 0;
    while tally.keep_going(started) {
        n += 1;
        let username = format!("storm_{lane}_{n}");
        let response = client
            .post(format!("{}/api/v1/auth/register/", instance(&bases)))
            .header("Prefer", "wait=2")
            .json(&registration(&username))
            .send()
            .await
            .expect("registration sent");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        tally.check(status == 202, || format!("registration: {status} {body}"));
        let Some(job_id) = body["job_id"].as_str() else {
            continue;
        };
        tally.jobs.lock().expect("tally").push(job_id.to_owned());
        check_queued_job(&client, instance(&bases), job_id, &tally).await;
    }
}

/// Job sockets closed by the client while the server follows the job: closed around 2 s,
/// when the server re-reads the job's row, many at once.
async fn abandoned_job_sockets(bases: Arc<Vec<String>>, tally: Arc<Tally>) {
    let open = Arc::new(tokio::sync::Semaphore::new(60));
    let started = tokio::time::Instant::now();
    let mut sockets = tokio::task::JoinSet::new();
    while tally.keep_going(started) {
        let Some(job_id) = tally.some_job() else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let Ok(permit) = open.clone().acquire_owned().await else {
            break;
        };
        let url = ws::url(instance(&bases), &format!("/ws/jobs/{job_id}/"));
        let tally = tally.clone();
        sockets.spawn(async move {
            let mut socket = ws::connect(&url, &[]).await;
            let first = ws::next_json(&mut socket, Duration::from_secs(10)).await;
            tally.check(first["id"] == job_id && first["status"] == "queued", || {
                format!("socket of job {job_id}: {first}")
            });
            let hold = rand::thread_rng().gen_range(1_980..2_030);
            tokio::time::sleep(Duration::from_millis(hold)).await;
            drop(socket);
            tally.dropped.fetch_add(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    while let Some(socket) = sockets.join_next().await {
        socket.expect("a socket follower panicked");
    }
}

/// Requests whose client gives up after a few milliseconds, while the server reads.
async fn hang_ups(bases: Arc<Vec<String>>, owners: Arc<Vec<Owner>>, tally: Arc<Tally>) {
    let started = tokio::time::Instant::now();
    while tally.keep_going(started) {
        let (owner, path) = {
            let mut rng = rand::thread_rng();
            let owner = &owners[rng.gen_range(0..owners.len())];
            let task = &owner.tasks[rng.gen_range(0..owner.tasks.len())];
            let job = tally.some_job().unwrap_or_default();
            let path = match rng.gen_range(0..4) {
                0 => format!("/api/v1/tasks/{}/", task["id"].as_str().unwrap_or_default()),
                1 => "/api/v1/tasks/?page_size=50".to_owned(),
                _ => format!("/api/v1/jobs/{job}/"),
            };
            (owner, path)
        };
        let patience = Duration::from_micros(rand::thread_rng().gen_range(200..3_000));
        let client = reqwest::Client::builder().timeout(patience).build().expect("client");
        let sent = client
            .get(format!("{}{path}", instance(&bases)))
            .bearer_auth(&owner.token)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                tally.check(status == 200, || format!("hang-up read {path}: {status}"));
            }
            Err(_) => {
                tally.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Reads of the caller's own objects, each compared with what the caller owns.
async fn own_reads(bases: Arc<Vec<String>>, owners: Arc<Vec<Owner>>, tally: Arc<Tally>) {
    let client = reqwest::Client::new();
    let started = tokio::time::Instant::now();
    while tally.keep_going(started) {
        let (owner, pick, task) = {
            let mut rng = rand::thread_rng();
            let owner = &owners[rng.gen_range(0..owners.len())];
            let task = owner.tasks[rng.gen_range(0..owner.tasks.len())].clone();
            (owner, rng.gen_range(0..4), task)
        };
        let base = instance(&bases);
        match pick {
            0 => {
                let id = task["id"].as_str().unwrap_or_default();
                let url = format!("{base}/api/v1/tasks/{id}/");
                let (status, got) =
                    call_at(&client, &url, Method::GET, Some(&owner.token), None).await;
                tally.check(status == 200 && got == task, || {
                    format!("task {id} of {}: {status} {got}", owner.username)
                });
            }
            1 => {
                let url = format!("{base}/api/v1/tasks/?page_size=50");
                let (status, got) =
                    call_at(&client, &url, Method::GET, Some(&owner.token), None).await;
                let mut ids: Vec<&str> = got["results"]
                    .as_array()
                    .map(|r| r.iter().filter_map(|t| t["id"].as_str()).collect())
                    .unwrap_or_default();
                ids.sort_unstable();
                let mut own: Vec<&str> =
                    owner.tasks.iter().filter_map(|t| t["id"].as_str()).collect();
                own.sort_unstable();
                tally.check(status == 200 && got["count"] == own.len() && ids == own, || {
                    format!("task list of {}: {status} {got}", owner.username)
                });
            }
            2 => {
                let Some(job_id) = tally.some_job() else {
                    continue;
                };
                check_queued_job(&client, base, &job_id, &tally).await;
            }
            _ => {
                let url = format!("{base}/api/v1/auth/profile/");
                let (status, got) =
                    call_at(&client, &url, Method::GET, Some(&owner.token), None).await;
                tally.check(
                    status == 200 && got["id"] == owner.id && got["username"] == owner.username,
                    || format!("profile of {}: {status} {got}", owner.username),
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dropped_requests_never_give_another_request_its_rows() {
    let mut env = TestEnv::new();
    let (_first, first) = start_api(&mut env, &[("DISPATCH_DB_POOL_SIZE", "4")]).await;
    let (_second, second) = start_api(&mut env, &[("DISPATCH_DB_POOL_SIZE", "4")]).await;
    let bases = Arc::new(vec![first, second]);

    // The owners are registered while a worker runs; then it stops, so every registration
    // of the storm stays queued and its watchers keep re-reading its row.
    let mut worker = Binary::start("dispatch-worker", &env, &[]);
    let client = reqwest::Client::new();
    let mut owners = Vec::new();
    for i in 0..4 {
        let username = format!("owner_{i}");
        let response = client
            .post(format!("{}/api/v1/auth/register/", bases[0]))
            .header("Prefer", "wait=20")
            .json(&registration(&username))
            .send()
            .await
            .expect("registration sent");
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.expect("the new user");
        let token = body["tokens"]["access"].as_str().expect("a token").to_owned();
        let mut tasks = Vec::new();
        for t in 0..6 {
            let (status, task) = call_at(
                &client,
                &format!("{}/api/v1/tasks/", bases[1]),
                Method::POST,
                Some(&token),
                Some(&json!({"title": format!("{username} task {t}"), "description": "x".repeat(t * 40)})),
            )
            .await;
            assert_eq!(status, 201, "{task}");
            tasks.push(task);
        }
        owners.push(Owner {
            token,
            id: body["id"].as_str().expect("an id").to_owned(),
            username,
            tasks,
        });
    }
    assert!(worker.terminate(Duration::from_secs(20)).await);
    let owners = Arc::new(owners);

    let tally = Arc::new(Tally::default());
    let mut storm = tokio::task::JoinSet::new();
    for lane in 0..6 {
        storm.spawn(waiting_registrations(bases.clone(), tally.clone(), lane));
    }
    storm.spawn(abandoned_job_sockets(bases.clone(), tally.clone()));
    for _ in 0..4 {
        storm.spawn(hang_ups(bases.clone(), owners.clone(), tally.clone()));
    }
    for _ in 0..6 {
        storm.spawn(own_reads(bases.clone(), owners.clone(), tally.clone()));
    }
    while let Some(lane) = storm.join_next().await {
        lane.expect("a storm lane panicked");
    }

    let checked = tally.checked.load(Ordering::Relaxed);
    let dropped = tally.dropped.load(Ordering::Relaxed);
    let wrong = tally.wrong.lock().expect("tally");
    eprintln!("{checked} answers checked, {dropped} requests dropped by their client");
    assert!(
        wrong.is_empty(),
        "{} of {checked} answers were wrong:\n{}",
        wrong.len(),
        wrong.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    assert!(checked >= ENOUGH_CHECKED, "only {checked} answers checked");
    assert!(dropped >= ENOUGH_DROPPED, "only {dropped} requests dropped");
}
