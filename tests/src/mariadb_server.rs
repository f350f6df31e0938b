//! A MariaDB server of a test's own, in a temporary data directory, for faults that would
//! hurt other tests on the shared one (a crash and a restart).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct PrivateMariaDb {
    child: Option<Child>,
    data: PathBuf,
    pub port: u16,
}

impl PrivateMariaDb {
    /// A fresh server on `port`, ready for connections.
    pub async fn start(port: u16) -> Self {
        let data = std::env::temp_dir()
            .join(format!("dispatch_mariadb_{port}_{}", uuid::Uuid::new_v4().simple()));
        let installed = Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mariadb-install-db must be installed for the MariaDB fault tests");
        assert!(installed.success(), "mariadb-install-db failed");
        let mut server = Self { child: None, data, port };
        server.restart().await;
        server
    }

    pub fn url(&self, database: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{database}", self.port)
    }

    /// Kills the server at once, as a crash does: no client is told.
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data; returns once it accepts connections.
    pub async fn restart(&mut self) {
        self.crash();
        let child = Command::new("mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.data.display()))
            .arg(format!("--socket={}", self.data.join("mariadb.sock").display()))
            .arg(format!("--port={}", self.port))
            .args(["--user=root", "--bind-address=127.0.0.1", "--skip-log-bin"])
            .args(["--innodb-buffer-pool-size=32M", "--max-connections=500"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd must be installed for the MariaDB fault tests");
        self.child = Some(child);
        let address = format!("127.0.0.1:{}", self.port);
        crate::wait_until(
            Duration::from_secs(60),
            "the private MariaDB to accept connections",
            || {
                let address = address.clone();
                async move { tokio::net::TcpStream::connect(&address).await.ok().map(|_| ()) }
            },
        )
        .await;
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        self.crash();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
