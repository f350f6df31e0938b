//! A headless Chromium driven over WebDriver (ChromeDriver), for the web console's tests.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::process::free_port;
use crate::wait_until;

const PATIENCE: Duration = Duration::from_secs(20);

pub struct Browser {
    pub client: Client,
    driver: Child,
}

fn program(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

impl Browser {
    /// Starts ChromeDriver on a free port and opens a headless Chromium session through it.
    pub async fn start() -> Self {
        let driver_path = program("CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            // Its own process group, so the browsers it starts go with it (see Drop).
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {driver_path} ({e}): install chromium and chromium-driver \
                     (./scripts/test.sh does), or set CHROMEDRIVER"
                )
            });
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        wait_until(PATIENCE, "chromedriver to accept sessions", || {
            let status = status.clone();
            async move {
                let body: Value = reqwest::get(&status).await.ok()?.json().await.ok()?;
                body["value"]["ready"].as_bool().filter(|r| *r)
            }
        })
        .await;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": program("CHROME", "/usr/bin/chromium"),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900",
                         "--force-prefers-reduced-motion=false", "--lang=en-GB"],
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&url)
            .await
            .expect("a WebDriver session in headless Chromium");
        Browser { client, driver }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigation");
    }

    /// Runs `script` (a function body receiving `arguments`) in the page.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.expect("script")
    }

    /// The text of the first element matching `css`, if there is one and it is shown.
    pub async fn text(&self, css: &str) -> Option<String> {
        let value = self
            .eval(
                "const e = document.querySelector(arguments[0]);
                 return e && !e.closest('[hidden]') ? e.textContent : null;",
                vec![json!(css)],
            )
            .await;
        value.as_str().map(str::to_owned)
    }

    /// Waits until the element matching `css` shows text containing `needle`; returns it.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let what = format!("`{css}` to show {needle:?}");
        wait_until(PATIENCE, &what, || async move {
            self.text(css).await.filter(|t| t.contains(needle))
        })
        .await
    }

    /// Waits until the page's path is `path`.
    pub async fn wait_for_path(&self, path: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let url = self.client.current_url().await.expect("current URL");
            if url.path() == path {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                let shown = self.text("body").await.unwrap_or_default();
                panic!("the browser stayed on {url}, not {path}; the page shows: {shown}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `script` (returning a value) answers something other than null/false.
    pub async fn wait_for(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        wait_until(PATIENCE, what, || {
            let args = args.clone();
            async move {
                let value = self.client.execute(script, args).await.ok()?;
                (!value.is_null() && value != Value::Bool(false)).then_some(value)
            }
        })
        .await
    }

    /// The first element matching `css`, once there is one.
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
    }

    /// Replaces the value of the input matching `css` as a user typing would.
    pub async fn fill(&self, css: &str, value: &str) {
        let element = self.element(css).await;
        element.clear().await.expect("clear");
        element.send_keys(value).await.expect("typing");
    }

    pub async fn click(&self, css: &str) {
        self.element(css).await.click().await.unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.element(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select {value:?} in `{css}`: {e}"));
    }

    /// Waits until `script` (returning an array of strings) returns exactly `expected`.
    pub async fn wait_for_list<S: AsRef<str>>(&self, what: &str, script: &str, expected: &[S]) {
        let expected: Vec<&str> = expected.iter().map(AsRef::as_ref).collect();
        let expected = &expected;
        wait_until(PATIENCE, what, || async move {
            let value = self.client.execute(script, vec![]).await.ok()?;
            let shown: Vec<String> = serde_json::from_value(value).ok()?;
            (shown == *expected).then_some(())
        })
        .await
    }

    /// Saves a PNG of the window as `docs/screenshots/<name>.png`, for the README.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot file");
    }

    /// Ends the session cleanly (the driver and any browser left are killed on drop).
    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ =
            Command::new("kill").args(["-KILL", "--", &format!("-{}", self.driver.id())]).status();
        let _ = self.driver.wait();
    }
}
