//! The real binaries as separate processes, for end-to-end tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::env::TestEnv;

/// `target/<profile>/<name>` of this build: tests run from `target/<profile>/deps/`.
pub fn binary_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").join(name)
}

/// Runs one of `scripts/` that installs a tool when it is missing and prints, last, where it
/// is.
pub fn installed_by(script: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let output = Command::new(root.join("scripts").join(script))
        .output()
        .unwrap_or_else(|e| panic!("scripts/{script} does not run: {e}"));
    assert!(
        output.status.success(),
        "scripts/{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
}

/// A command for `name` with exactly the test's environment.
pub fn command(name: &str, env: &TestEnv) -> Command {
    let mut command = Command::new(binary_path(name));
    command.env_clear();
    for (k, v) in env.vars() {
        command.env(k, v);
    }
    command
}

pub struct Binary {
    pub child: Child,
    pub name: &'static str,
}

impl Binary {
    /// Starts `name` (dispatch-api or dispatch-worker) with the test's environment plus `extra`.
    pub fn start(name: &'static str, env: &TestEnv, extra: &[(&str, &str)]) -> Self {
        Self::spawn(name, env, extra, Stdio::null(), Stdio::inherit())
    }

    /// Like `start`, with the process's output (its log) written to `log`.
    pub fn start_logged(
        name: &'static str,
        env: &TestEnv,
        extra: &[(&str, &str)],
        log: &std::path::Path,
    ) -> Self {
        let file = std::fs::File::create(log).expect("log file");
        let stdout = file.try_clone().expect("log file");
        Self::spawn(name, env, extra, Stdio::from(stdout), Stdio::from(file))
    }

    fn spawn(
        name: &'static str,
        env: &TestEnv,
        extra: &[(&str, &str)],
        stdout: Stdio,
        stderr: Stdio,
    ) -> Self {
        let path = binary_path(name);
        assert!(
            path.exists(),
            "{} is missing: build the binaries first (cargo build --bins)",
            path.display()
        );
        let mut command = Command::new(&path);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        for (k, v) in env.vars() {
            command.env(k, v);
        }
        for (k, v) in extra {
            command.env(k, v);
        }
        let child = command.spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));
        Self { child, name }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn signal(&self, signal: &str) {
        let _ = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status();
    }

    pub fn kill(&mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits up to `grace` for a clean exit; returns whether it exited cleanly.
    pub async fn terminate(&mut self, grace: Duration) -> bool {
        self.signal("TERM");
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            if tokio::time::Instant::now() >= deadline {
                self.kill();
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// A free TCP port on 127.0.0.1 for a child process to bind.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts `dispatch-api` on a free port (recorded in `env`) and waits until it is ready;
/// returns the process and its base URL.
pub async fn start_api(env: &mut TestEnv, extra: &[(&str, &str)]) -> (Binary, String) {
    let bind = format!("127.0.0.1:{}", free_port());
    env.set("DISPATCH_BIND", &bind);
    let api = Binary::start("dispatch-api", env, extra);
    let base = format!("http://{bind}");
    wait_ready(&base).await;
    (api, base)
}

/// `start_api` with the API's log written to `log`.
pub async fn start_logged_api(env: &mut TestEnv, log: &std::path::Path) -> (Binary, String) {
    let bind = format!("127.0.0.1:{}", free_port());
    env.set("DISPATCH_BIND", &bind);
    let api = Binary::start_logged("dispatch-api", env, &[("RUST_LOG", "debug")], log);
    let base = format!("http://{bind}");
    wait_ready(&base).await;
    (api, base)
}

pub async fn wait_ready(base: &str) {
    let url = format!("{base}/readyz");
    crate::wait_until(Duration::from_secs(30), "dispatch-api to be ready", || {
        let url = url.clone();
        async move { (reqwest::get(&url).await.ok()?.status() == 200).then_some(()) }
    })
    .await;
}

/// Polls a job's status URL until `done` accepts it.
pub async fn await_job_state(
    status_url: &str,
    timeout: Duration,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let client = reqwest::Client::new();
    crate::wait_until(timeout, what, || {
        let request = client.get(status_url).send();
        let done = &done;
        async move {
            let job: serde_json::Value = request.await.ok()?.json().await.ok()?;
            done(&job).then_some(job)
        }
    })
    .await
}
