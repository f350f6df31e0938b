//! A real SMTP server (Python's `smtpd`, in `tests/support/smtp_sink.py`) that keeps every
//! accepted message as a file, so tests count and parse what was delivered.

use std::path::PathBuf;
use std::time::Duration;

use tokio::process::{Child, Command};

pub struct SmtpSink {
    pub port: u16,
    pub dir: PathBuf,
    _server: Child,
}

/// One delivered message, parsed.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub to: String,
    pub message_id: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_with_delay(Duration::ZERO).await
    }

    /// Each message is accepted only after `delay`.
    pub async fn start_with_delay(delay: Duration) -> Self {
        let port = crate::process::free_port();
        let dir =
            std::env::temp_dir().join(format!("dispatch-smtp-{}", uuid::Uuid::new_v4().simple()));
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("support/smtp_sink.py");
        let server = Command::new("python3")
            .arg("-u")
            .arg(script)
            .arg(format!("127.0.0.1:{port}"))
            .arg(&dir)
            .arg(delay.as_secs_f64().to_string())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 must be installed to run the test SMTP server");
        crate::wait_until(Duration::from_secs(10), "the SMTP server", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok().map(|_| ())
        })
        .await;
        Self { port, dir, _server: server }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message accepted so far, oldest first.
    pub fn delivered(&self) -> Vec<Delivered> {
        parse_dir(&self.dir)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Parses every `.eml` file in `dir` (the sink's, or the worker's `DISPATCH_MAIL_DIR`).
pub fn parse_dir(dir: &std::path::Path) -> Vec<Delivered> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|path| {
            let raw = std::fs::read(path).expect("message file");
            let message = mail_parser::MessageParser::default()
                .parse(&raw)
                .unwrap_or_else(|| panic!("{} is not a parseable message", path.display()));
            Delivered {
                to: message
                    .to()
                    .and_then(|to| to.first())
                    .and_then(|a| a.address())
                    .unwrap_or_default()
                    .to_owned(),
                message_id: message.message_id().unwrap_or_default().to_owned(),
                subject: message.subject().unwrap_or_default().to_owned(),
                text: message.body_text(0).unwrap_or_default().into_owned(),
                html: message.body_html(0).unwrap_or_default().into_owned(),
            }
        })
        .collect()
}
