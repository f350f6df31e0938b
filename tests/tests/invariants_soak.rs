//! The design's invariants under truly concurrent requests, each checked round after round
//! against two API instances (and, where jobs run, two workers): the daily assignment
//! limit, stock, one user per username and per email, one welcome mail per user, and one
//! success per job. `DISPATCH_SOAK_ROUNDS` sets the rounds (10 here; `bench/soak.sh` runs
//! 100).

use std::collections::HashMap;
use std::time::Duration;

use dispatch_tests::catalogue::products;
use dispatch_tests::smtp::SmtpSink;
use dispatch_tests::{call_at, wait_until, Binary, TestApp, TestEnv};
use reqwest::Method;
use serde_json::{json, Value};

fn rounds() -> usize {
    std::env::var("DISPATCH_SOAK_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(10)
}

/// The app (API and worker in process) and a second API instance on the same data.
async fn two_instances(env: TestEnv) -> (TestApp, Vec<String>) {
    let app = TestApp::spawn_env(env, true).await;
    let second = app.spawn_second_instance().await;
    let bases = vec![app.address.clone(), second];
    (app, bases)
}

/// A POST of the soak: its path, bearer token, JSON body and `Prefer` header.
struct Post {
    path: &'static str,
    token: Option<String>,
    body: Option<Value>,
    prefer: Option<&'static str>,
}

impl Post {
    fn new(path: &'static str) -> Self {
        Self { path, token: None, body: None, prefer: None }
    }

    fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn prefer(mut self, prefer: &'static str) -> Self {
        self.prefer = Some(prefer);
        self
    }
}

/// `requests` sent at once, alternating between the instances: each answer's status and body.
async fn at_once(bases: &[String], requests: Vec<Post>) -> Vec<(u16, Value)> {
    let client = reqwest::Client::new();
    let calls = requests.into_iter().enumerate().map(|(i, Post { path, token, body, prefer })| {
        let client = client.clone();
        let url = format!("{}{path}", bases[i % bases.len()]);
        tokio::spawn(async move {
            let mut request = client.post(url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.json(&body);
            }
            if let Some(prefer) = prefer {
                request = request.header("Prefer", prefer);
            }
            let response = request.send().await.expect("request sent");
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        })
    });
    futures::future::join_all(calls).await.into_iter().map(|r| r.expect("request task")).collect()
}

fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_daily_assignment_limit_holds_under_fifty_simultaneous_requests() {
    let (app, bases) = two_instances(TestEnv::new()).await;
    let owner = app.user("owner").await;
    let assignee = app.user("assignee").await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let task = app.create_task(&owner, json!({"title": format!("t{i}")})).await;
        tasks.push(task["id"].as_str().expect("task id").to_owned());
    }
    let first_day = chrono::NaiveDate::from_ymd_opt(2027, 1, 1).expect("a date");
    for round in 0..rounds() {
        let date = (first_day + chrono::Duration::days(round as i64)).to_string();
        let requests = tasks
            .iter()
            .map(|task| {
                let body = json!({"task_id": task, "user_id": assignee.id, "date": date});
                Post::new("/api/v1/assignments/").token(&owner.token).body(body)
            })
            .collect();
        let answers = at_once(&bases, requests).await;
        let created = answers.iter().filter(|(s, _)| *s == 201).count();
        assert_eq!(created, 5, "round {round}: {created} created");
        for (status, body) in &answers {
            assert!(
                *status == 201
                    || (*status == 409 && problem_type(body).ends_with("daily-limit-reached")),
                "round {round}: {status} {body}"
            );
        }
        let stored = app
            .env
            .count_matching(
                "assignments",
                &format!("user_id = '{}' AND date = '{date}'", assignee.id),
            )
            .await;
        assert_eq!(stored, 5, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_checkouts_never_sell_more_than_the_stock() {
    const BUYERS: usize = 10;
    const STOCK: u32 = 5;
    let (app, bases) = two_instances(TestEnv::new()).await;
    let admin = app.admin("root").await;
    let buyers = app.users("buyer", BUYERS).await;
    for round in 0..rounds() {
        app.env.execute("DELETE FROM cart_items").await;
        let name = format!("Scarce {round}");
        let product = products(&app, &admin, &[(&name, "9.99", STOCK)]).await.remove(0);
        for buyer in &buyers {
            app.created(
                "/api/v1/cart/items/",
                &buyer.token,
                &json!({"product_id": product, "quantity": 1}),
            )
            .await;
        }
        let requests =
            buyers.iter().map(|b| Post::new("/api/v1/cart/checkout/").token(&b.token)).collect();
        let answers = at_once(&bases, requests).await;
        let sold = answers.iter().filter(|(s, _)| *s == 201).count();
        assert_eq!(sold, STOCK as usize, "round {round}: {answers:?}");
        for (status, body) in &answers {
            assert!(
                *status == 201
                    || (*status == 409 && problem_type(body).ends_with("insufficient-stock")),
                "round {round}: {status} {body}"
            );
        }
        let left =
            app.env.count_matching("products", &format!("id = '{product}' AND quantity = 0")).await;
        assert_eq!(left, 1, "round {round}: the stock is not exactly sold out");
        let ordered =
            app.env.count_matching("order_items", &format!("product_id = '{product}'")).await;
        assert_eq!(ordered, i64::from(STOCK), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_user_per_username_and_per_email_under_simultaneous_registrations() {
    let (app, bases) = two_instances(TestEnv::new()).await;
    for round in 0..rounds() {
        let mut requests = Vec::new();
        for i in 0..6 {
            let same_name = json!({"username": format!("dup{round}"), "email": format!("dup{round}_{i}@example.com"), "password": "soak-password-1"});
            let same_mail = json!({"username": format!("mail{round}_{i}"), "email": format!("same{round}@example.com"), "password": "soak-password-1"});
            for body in [same_name, same_mail] {
                requests.push(Post::new("/api/v1/auth/register/").body(body).prefer("wait=30"));
            }
        }
        let answers = at_once(&bases, requests).await;
        for (status, body) in &answers {
            assert!(*status == 201 || *status == 409, "round {round}: {status} {body}");
        }
        assert_eq!(
            answers.iter().filter(|(s, _)| *s == 201).count(),
            2,
            "round {round}: {answers:?}"
        );
        let by_name = app.env.count_matching("users", &format!("username = 'dup{round}'")).await;
        let by_mail =
            app.env.count_matching("users", &format!("email = 'same{round}@example.com'")).await;
        assert_eq!((by_name, by_mail), (1, 1), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_user_gets_one_welcome_mail_whoever_triggers_the_run() {
    let smtp = SmtpSink::start().await;
    let mut env = TestEnv::new();
    env.set("DISPATCH_WELCOME_MAIL_AFTER", "0s").set("DISPATCH_SMTP_URL", &smtp.url());
    let (app, bases) = two_instances(env).await;
    let _second_worker = Binary::start("dispatch-worker", &app.env, &[]);
    let admin = app.admin("root").await;
    for round in 0..rounds() {
        let rows: Vec<String> = (0..10)
            .map(|i| {
                format!(
                    "(UUID(), 'welcome{round}_{i}', 'welcome{round}_{i}@example.com', 'x', \
                     NOW(6) - INTERVAL 2 DAY, NOW(6))"
                )
            })
            .collect();
        app.env
            .execute(&format!(
                "INSERT INTO users (id, username, email, password_hash, date_joined, last_updated) VALUES {}",
                rows.join(", ")
            ))
            .await;
        let requests = (0..4)
            .map(|_| Post::new("/api/v1/admin/jobs/daily-mail/").token(&admin.token))
            .collect();
        for (status, body) in at_once(&bases, requests).await {
            assert_eq!(status, 202, "round {round}: {body}");
        }
        app.env.await_all_mailed(Duration::from_secs(60)).await;
        let mut received: HashMap<String, usize> = HashMap::new();
        for mail in smtp.delivered() {
            *received.entry(mail.to).or_default() += 1;
        }
        let twice: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "round {round}: mailed more than once: {twice:?}");
        assert_eq!(received.len() as i64, app.env.count_matching("users", "is_active").await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_job_succeeds_once_though_delivered_many_times_to_two_workers() {
    let (app, bases) = two_instances(TestEnv::new()).await;
    let _second_worker = Binary::start("dispatch-worker", &app.env, &[]);
    let queues = dispatch_shared::jobs::JobQueues::new(
        dispatch_shared::redis_conn::connect(
            &redis::Client::open(app.env.redis_url.as_str()).expect("redis url"),
        )
        .await
        .expect("Redis"),
        &app.env.namespace,
    );
    let client = reqwest::Client::new();
    for round in 0..rounds() {
        let requests = (0..10)
            .map(|i| {
                let body = json!({"username": format!("job{round}_{i}"), "email": format!("job{round}_{i}@example.com"), "password": "soak-password-1"});
                Post::new("/api/v1/auth/register/").body(body)
            })
            .collect();
        let accepted = at_once(&bases, requests).await;
        // Each job is delivered three more times, while the workers may be running it.
        let ids: Vec<uuid::Uuid> = accepted
            .iter()
            .map(|(status, body)| {
                assert_eq!(*status, 202, "{body}");
                body["job_id"].as_str().and_then(|id| id.parse().ok()).expect("a job id")
            })
            .collect();
        let queues = &queues;
        let duplicates = ids.iter().flat_map(|&id| {
            (0..3).map(move |_| queues.push(dispatch_shared::jobs::JobKind::RegisterUser, id))
        });
        for pushed in futures::future::join_all(duplicates).await {
            pushed.expect("duplicate delivery");
        }
        for id in &ids {
            let url = format!("{}/api/v1/jobs/{id}/", bases[0]);
            wait_until(Duration::from_secs(30), "the job to finish", || async {
                let (_, job) = call_at(&client, &url, Method::GET, None, None).await;
                matches!(job["status"].as_str(), Some("succeeded" | "failed")).then_some(())
            })
            .await;
        }
        let done = app
            .env
            .count_matching("jobs", &format!("kind = 'register_user' AND status = 'succeeded' AND attempts = 1 AND id IN ({})",
                ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(", ")))
            .await;
        assert_eq!(done, ids.len() as i64, "round {round}: a job did not succeed exactly once");
        let users =
            app.env.count_matching("users", &format!("username LIKE 'job{round}\\_%'")).await;
        assert_eq!(users, ids.len() as i64, "round {round}");
    }
}
