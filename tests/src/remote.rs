//! A client of API binaries started as processes: JSON calls and signed-in accounts.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{Calls, TestEnv};

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Calls for Api {
    fn client(&self) -> &reqwest::Client {
        &self.http
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Api {
    pub fn new(base: String) -> Self {
        Self { http: reqwest::Client::new(), base }
    }

    /// A call that must succeed (2xx); its answer.
    pub async fn ok(&self, method: Method, path: &str, token: &str, body: Option<&Value>) -> Value {
        let (status, answer) = self.call(method.clone(), path, Some(token), body).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {answer}");
        answer
    }

    /// Logs in; the access token and the user's id.
    pub async fn login(&self, username: &str, password: &str) -> (String, String) {
        let (status, session) = self
            .call(
                Method::POST,
                "/api/v1/auth/login/",
                None,
                Some(&json!({"username": username, "password": password})),
            )
            .await;
        assert_eq!(status, 200, "{username} logs in: {session}");
        (
            session["tokens"]["access"].as_str().expect("a token").to_owned(),
            session["id"].as_str().expect("an id").to_owned(),
        )
    }

    /// Registers (a worker must run) and logs in; `admin` users are promoted first.
    pub async fn account(&self, env: &TestEnv, name: &str, admin: bool) -> (String, String) {
        let password = format!("{name}-password-1");
        let registered = self
            .http
            .post(self.url("/api/v1/auth/register/"))
            .header("Prefer", "wait=20")
            .json(&json!({"username": name, "email": format!("{name}@example.com"), "password": password}))
            .send()
            .await
            .expect("registration sent");
        assert_eq!(registered.status(), 201, "{name} registered");
        if admin {
            env.execute(&format!("UPDATE users SET is_superuser = TRUE WHERE username = '{name}'"))
                .await;
        }
        self.login(name, &password).await
    }
}
