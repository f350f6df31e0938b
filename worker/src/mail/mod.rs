//! Outgoing mail through lettre: SMTP when `DISPATCH_SMTP_URL` is set (plain, STARTTLS or
//! implicit TLS and credentials as the URL says), otherwise `.eml` files in
//! `DISPATCH_MAIL_DIR`, so development needs no mail server.

pub mod welcome;

use std::path::PathBuf;

use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail setting invalid: {0}")]
    Config(String),
    #[error("the message could not be built: {0}")]
    Build(String),
    /// Worth trying again later (connection refused, a 4xx answer, a full disk).
    #[error("mail not delivered yet: {0}")]
    Transient(String),
    /// The server refused the message for good (a 5xx answer).
    #[error("mail refused: {0}")]
    Permanent(String),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    pub fn new(smtp_url: Option<&str>, mail_dir: PathBuf, from: &str) -> Result<Self, MailError> {
        let from: Mailbox =
            from.parse().map_err(|e| MailError::Config(format!("DISPATCH_MAIL_FROM: {e}")))?;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailError::Config(format!("DISPATCH_SMTP_URL: {e}")))?
                    .build(),
            ),
            None => Transport::Files(AsyncFileTransport::new(&mail_dir), mail_dir),
        };
        Ok(Self { transport, from })
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    MailError::Permanent(e.to_string())
                } else {
                    MailError::Transient(e.to_string())
                }
            }),
            Transport::Files(files, dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| MailError::Transient(format!("{}: {e}", dir.display())))?;
                files
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| MailError::Transient(e.to_string()))
            }
        }
    }
}
