use std::sync::Arc;
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use serde_json::{json, Value};
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::calls::Calls;
use crate::env::TestEnv;

pub const JOB_TIMEOUT: Duration = Duration::from_secs(20);

/// The real API (and, unless told otherwise, a real worker) running in this process on a
/// random port against this test's own database and Redis namespace.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    api: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    worker: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    // Last, so the database outlives the tasks using it.
    pub env: TestEnv,
}

impl Calls for TestApp {
    fn client(&self) -> &reqwest::Client {
        &self.client
    }

    fn url(&self, path: &str) -> String {
        TestApp::url(self, path)
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_env(TestEnv::new(), true).await
    }

    pub async fn spawn_without_worker() -> Self {
        Self::spawn_env(TestEnv::new(), false).await
    }

    pub async fn spawn_env(env: TestEnv, with_worker: bool) -> Self {
        Self::spawn_with_sessions_on(env, with_worker, Handle::current()).await
    }

    /// An app whose WebSocket sessions run on `sessions`, as the binary runs them on a
    /// runtime of their own.
    pub async fn spawn_with_sessions_on(env: TestEnv, with_worker: bool, sessions: Handle) -> Self {
        let settings = env.settings();
        dispatch_shared::db::migrate(&settings.database_url)
            .await
            .expect("MariaDB must be running on 127.0.0.1:3306 (root, no password) for the tests");
        let (acceptor, port) = random_port().await;
        let (stop_api, stopped) = oneshot::channel::<()>();
        let api_settings = settings.clone();
        let api = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = dispatch_api::serve_on(api_settings, acceptor, sessions, shutdown).await
            {
                eprintln!("test API stopped: {e:#}");
            }
        });
        let mut app = Self {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("http client"),
            api: Some((stop_api, api)),
            worker: None,
            env,
        };
        if with_worker {
            app.start_worker();
        }
        app.wait_ready().await;
        app
    }

    /// Another API instance on the same database and Redis namespace, as a second machine
    /// would run it; returns its base URL. It stops when the test's runtime ends.
    pub async fn spawn_second_instance(&self) -> String {
        let (acceptor, port) = random_port().await;
        let settings = self.env.settings();
        tokio::spawn(async move {
            let _ = dispatch_api::serve_on(
                settings,
                acceptor,
                Handle::current(),
                std::future::pending(),
            )
            .await;
        });
        let base = format!("http://127.0.0.1:{port}");
        let client = self.client.clone();
        let url = format!("{base}/readyz");
        crate::wait_until(Duration::from_secs(30), "the second instance", || {
            let client = client.clone();
            let url = url.clone();
            async move { (client.get(&url).send().await.ok()?.status() == 200).then_some(()) }
        })
        .await;
        base
    }

    pub fn settings(&self) -> Arc<dispatch_shared::config::Settings> {
        self.env.settings()
    }

    pub fn start_worker(&mut self) {
        let settings = self.env.settings();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
                Ok(())
            };
            if let Err(e) = dispatch_worker::workers::run(settings, shutdown).await {
                eprintln!("test worker stopped: {e:#}");
            }
        });
        self.worker = Some((stop, handle));
    }

    /// A graceful stop (what SIGTERM does): jobs in hand finish first.
    pub async fn stop_worker(&mut self) {
        if let Some((stop, handle)) = self.worker.take() {
            let _ = stop.send(());
            let _ = handle.await;
        }
    }

    async fn wait_ready(&self) {
        let client = self.client.clone();
        let url = self.url("/readyz");
        crate::wait_until(Duration::from_secs(30), "the API to become ready", || {
            let client = client.clone();
            let url = url.clone();
            async move {
                match client.get(&url).send().await {
                    Ok(r) if r.status() == 200 => Some(()),
                    _ => None,
                }
            }
        })
        .await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        crate::ws::url(&self.address, path)
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.expect("request sent")
    }

    /// The status of `method path`, with the bearer token when given.
    pub async fn status(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> u16 {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent").status().as_u16()
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request sent")
    }

    /// Registers and waits for the job; returns the 201 body (user and tokens).
    pub async fn register(&self, username: &str, password: &str) -> Value {
        let response = self
            .client
            .post(self.url("/api/v1/auth/register/"))
            .header("Prefer", "wait=20")
            .json(&registration(username, password))
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        let body: Value = response.json().await.expect("json body");
        assert_eq!(status, 201, "registration of {username} failed: {body}");
        body
    }

    /// Registers without waiting, which must be accepted; returns the job's id.
    pub async fn registration_job(&self, username: &str) -> String {
        let response = self
            .post(
                "/api/v1/auth/register/",
                &registration(username, &format!("{username}-password-1")),
            )
            .await;
        assert_eq!(response.status(), 202, "registration of {username}");
        let accepted: Value = response.json().await.expect("json body");
        accepted["job_id"].as_str().expect("a job id").to_owned()
    }

    /// Logs in and returns the access token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .post("/api/v1/auth/login/", &json!({"username": username, "password": password}))
            .await;
        let status = response.status();
        let body: Value = response.json().await.expect("json body");
        assert_eq!(status, 200, "login of {username} failed: {body}");
        body["tokens"]["access"].as_str().expect("an access token").to_owned()
    }

    /// `GET /api/v1/auth/profile/` as `token`'s holder: the status and the answer.
    pub async fn profile(&self, token: &str) -> (u16, Value) {
        self.read("/api/v1/auth/profile/", token).await
    }

    /// `POST path` as `token`'s holder, which must answer 201; returns what was created.
    pub async fn created(&self, path: &str, token: &str, body: &Value) -> Value {
        let (status, created) =
            self.call(reqwest::Method::POST, path, Some(token), Some(body)).await;
        assert_eq!(status, 201, "POST {path}: {created}");
        created
    }

    /// Creates a task for `user`; returns it.
    pub async fn create_task(&self, user: &TestUser, body: Value) -> Value {
        self.created("/api/v1/tasks/", &user.token, &body).await
    }

    /// Registers and logs in a user; returns their id and access token.
    pub async fn user(&self, username: &str) -> TestUser {
        let password = format!("{username}-password-1");
        let body = self.register(username, &password).await;
        TestUser {
            id: body["id"].as_str().expect("a user id").to_owned(),
            token: body["tokens"]["access"].as_str().expect("an access token").to_owned(),
            username: username.to_owned(),
        }
    }

    /// `count` users registered at once, named `{prefix}{i}`.
    pub async fn users(&self, prefix: &str, count: usize) -> Vec<TestUser> {
        futures::future::join_all((0..count).map(|i| self.user_named(format!("{prefix}{i}")))).await
    }

    async fn user_named(&self, username: String) -> TestUser {
        self.user(&username).await
    }

    /// A registered user made admin in the database (the bootstrap admin is tested elsewhere).
    pub async fn admin(&self, username: &str) -> TestUser {
        let user = self.user(username).await;
        self.env
            .execute(&format!("UPDATE users SET is_superuser = TRUE WHERE id = '{}'", user.id))
            .await;
        user
    }

    /// Polls the job until it has finished; returns its final JSON.
    pub async fn await_job(&self, job_id: &str, token: Option<&str>) -> Value {
        self.await_job_within(job_id, token, JOB_TIMEOUT).await
    }

    pub async fn await_job_within(
        &self,
        job_id: &str,
        token: Option<&str>,
        timeout: Duration,
    ) -> Value {
        let url = self.url(&format!("/api/v1/jobs/{job_id}/"));
        let client = self.client.clone();
        let token = token.map(str::to_owned);
        crate::wait_until(timeout, &format!("job {job_id} to finish"), || {
            let mut request = client.get(&url);
            if let Some(t) = &token {
                request = request.bearer_auth(t);
            }
            async move {
                let response = request.send().await.ok()?;
                let job: Value = response.json().await.ok()?;
                matches!(job["status"].as_str(), Some("succeeded" | "failed")).then_some(job)
            }
        })
        .await
    }
}

/// A registered user of a test.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub token: String,
    pub username: String,
}

/// `method url` with an optional bearer token and JSON body, against any instance.
pub async fn call_at(
    client: &reqwest::Client,
    url: &str,
    method: reqwest::Method,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A listener on a free port of 127.0.0.1, and the port.
async fn random_port() -> (impl Acceptor + 'static, u16) {
    let acceptor =
        TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind a random port");
    let port = acceptor.local_addr()[0].as_socket_addr().map(|a| a.port()).expect("a TCP address");
    (acceptor, port)
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((_, handle)) = self.worker.take() {
            handle.abort();
        }
        if let Some((_, handle)) = self.api.take() {
            handle.abort();
        }
    }
}

/// A client that reports redirects instead of following them.
pub fn client_without_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// A registration body for `username`, with an email of their own.
fn registration(username: &str, password: &str) -> Value {
    json!({"username": username, "email": format!("{username}@example.com"), "password": password})
}
